"""Debian's system libraries (installed by tools/setup.sh) as the Bazel repository @system.

A workspace that reuses //autograd calls this macro too, so that @system resolves there.
"""

def system_libraries(name = "system", build_file = "//third_party:system.BUILD"):
    """Declares @system. From another workspace pass build_file = "@seqlearn//third_party:system.BUILD"."""
    native.new_local_repository(
        name = name,
        path = "/usr",
        build_file = build_file,
    )
