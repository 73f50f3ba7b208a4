#include "experiments/flagfiles.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <utility>

#include "absl/flags/commandlineflag.h"
#include "absl/flags/reflection.h"
#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/strings/string_view.h"
#include "absl/strings/strip.h"

namespace experiments {
namespace {

constexpr char kWhatAFlagfileIs[] =
    "a flagfile must be a regular file of flags, one --name=value per line";

// One argument as Abseil sees it: from argv (line 0) or a line of a flagfile.
struct Argument {
  std::string text;
  size_t line = 0;
};

// A flagfile being read: the path as it was named, and the file it is.
struct OpenFlagfile {
  std::string path;
  dev_t device = 0;
  ino_t inode = 0;
};

const char* FileKind(mode_t mode) {
  if (S_ISDIR(mode)) return "a directory";
  if (S_ISFIFO(mode)) return "a FIFO";
  if (S_ISCHR(mode)) return "a character device";
  if (S_ISBLK(mode)) return "a block device";
  if (S_ISSOCK(mode)) return "a socket";
  return "not a regular file";
}

class Checker {
 public:
  // `args` from argv or from the flagfile at the top of the chain.
  absl::Status CheckArguments(const std::vector<Argument>& args) {
    const bool from_argv = chain_.empty();
    for (size_t i = 0; i < args.size(); ++i) {
      absl::string_view arg = args[i].text;
      // Abseil: "-" alone is positional; in a flagfile that aborts the program.
      if (!absl::ConsumePrefix(&arg, "-") || arg.empty()) {
        if (from_argv) continue;
        return absl::InvalidArgumentError(absl::StrFormat(
            "%s: line %d is '%s', which is not a flag: remove it (a flagfile holds flags, one "
            "--name=value per line)",
            Named(chain_.back().path, from_), args[i].line, args[i].text));
      }
      absl::ConsumePrefix(&arg, "-");
      if (arg.empty()) break;  // "--": the rest is positional
      const size_t equals = arg.find('=');
      absl::string_view name = arg.substr(0, equals);
      const bool has_value = equals != absl::string_view::npos;
      // Abseil's own flags, by name (whether its parser is linked in or not), then the program's.
      const bool generator = name == "flagfile" || name == "fromenv" || name == "tryfromenv";
      if (!generator) {
        absl::CommandLineFlag* flag = absl::FindCommandLineFlag(name);
        bool negative = false;
        if (flag == nullptr && absl::ConsumePrefix(&name, "no")) {
          flag = absl::FindCommandLineFlag(name);
          negative = true;
        }
        // Unknown flags, booleans and --noname=... take no value; Abseil reports the errors.
        if (flag == nullptr || flag->IsOfType<bool>() || negative) continue;
      }
      Argument value{has_value ? std::string(arg.substr(equals + 1)) : "", args[i].line};
      if (!has_value) {
        if (i + 1 == args.size()) continue;  // Abseil: "Missing the value"
        value = args[++i];
      }
      if (!generator) continue;
      if (name == "flagfile") {
        if (absl::Status status = CheckList(value.text, Source(value.line, "")); !status.ok()) {
          return status;
        }
      } else {  // --fromenv, --tryfromenv: flags from $FLAGS_<name>
        const std::vector<absl::string_view> names = absl::StrSplit(value.text, ',');
        const char* from_env = std::getenv("FLAGS_flagfile");
        if (from_env == nullptr || value.text.empty() ||
            std::find(names.begin(), names.end(), "flagfile") == names.end()) {
          continue;
        }
        if (absl::Status status =
                CheckList(from_env, Source(value.line, absl::StrCat("$FLAGS_flagfile, --", name)));
            !status.ok()) {
          return status;
        }
      }
    }
    return absl::OkStatus();
  }

 private:
  // Where a --flagfile value was given: "" on the command line, else "line N of FILE", and what
  // it came through (the environment).
  std::string Source(size_t line, const std::string& through) const {
    std::vector<std::string> parts;
    if (!chain_.empty()) parts.push_back(absl::StrFormat("line %d of %s", line, chain_.back().path));
    if (!through.empty()) parts.push_back(through);
    return absl::StrJoin(parts, ", ");
  }

  // "--flagfile=PATH" or "--flagfile=PATH (line 2 of a.flags)".
  static std::string Named(const std::string& path, const std::string& source) {
    return source.empty() ? absl::StrCat("--flagfile=", path)
                          : absl::StrCat("--flagfile=", path, " (", source, ")");
  }

  // A --flagfile value: a comma-separated list; empty means none (Abseil's std::vector flag).
  absl::Status CheckList(const std::string& value, const std::string& source) {
    if (value.empty()) return absl::OkStatus();
    for (absl::string_view path : absl::StrSplit(value, ',')) {
      if (path.empty()) {
        return absl::InvalidArgumentError(absl::StrFormat(
            "--flagfile=%s%s: the list names an empty file (a stray comma?): name each flagfile "
            "once, separated by commas",
            value, source.empty() ? "" : absl::StrCat(" (", source, ")")));
      }
      if (absl::Status status = CheckFile(std::string(path), source); !status.ok()) return status;
    }
    return absl::OkStatus();
  }

  std::string Chain(const std::string& last) const {
    std::vector<std::string> paths;
    for (const OpenFlagfile& open : chain_) paths.push_back(open.path);
    paths.push_back(last);
    return absl::StrJoin(paths, " -> ");
  }

  absl::Status CheckFile(const std::string& path, const std::string& source) {
    const std::string named = Named(path, source);
    const auto error = [&](const std::string& what) {
      return absl::InvalidArgumentError(absl::StrCat(named, ": ", what));
    };
    // stat first: opening some devices does something.
    struct stat info;
    if (stat(path.c_str(), &info) != 0) {
      // Abseil keeps all of a line after '=', so a CRLF file names "a.flags\r".
      const bool trailing_space = absl::ascii_isspace(static_cast<unsigned char>(path.back()));
      return error(absl::StrFormat(
          "cannot read it (%s): pass a file of flags, one --name=value per line%s",
          std::strerror(errno),
          trailing_space ? " (the name ends in a space or carriage return: flagfiles need Unix "
                           "line ends and no trailing spaces)"
                         : ""));
    }
    if (!S_ISREG(info.st_mode)) {
      return error(absl::StrFormat("this is %s: %s", FileKind(info.st_mode), kWhatAFlagfileIs));
    }
    for (const OpenFlagfile& open : chain_) {
      if (open.device == info.st_dev && open.inode == info.st_ino) {
        return error(absl::StrFormat(
            "includes itself: %s: remove the --flagfile line that closes the loop", Chain(path)));
      }
    }
    if (chain_.size() == kMaxFlagfileDepth) {
      return error(absl::StrFormat(
          "flagfiles nest more than %d deep: %s: include fewer levels of flagfiles",
          kMaxFlagfileDepth, Chain(path)));
    }
    const auto too_big = [&](size_t bytes) {
      return error(absl::StrFormat(
          "holds %d bytes, more than the %d (1 MiB) a flagfile may hold: %s; is this the right "
          "file?",
          bytes, kMaxFlagfileBytes, kWhatAFlagfileIs));
    };
    if (static_cast<uint64_t>(info.st_size) > kMaxFlagfileBytes) return too_big(info.st_size);

    // Read it without blocking (it may have been replaced since stat) and at most one byte past
    // the limit (it may grow).
    const int fd = open(path.c_str(), O_RDONLY | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
    if (fd < 0) {
      return error(absl::StrFormat("cannot read it (%s): pass a file of flags, one --name=value "
                                   "per line",
                                   std::strerror(errno)));
    }
    std::string text;
    absl::Status status = Read(fd, info, &text);
    close(fd);
    if (!status.ok()) return error(std::string(status.message()));
    if (text.size() > kMaxFlagfileBytes) return too_big(text.size());
    read_ += text.size();
    if (read_ > kMaxFlagfileBytesInAll) {
      return error(absl::StrFormat(
          "the flagfiles of this command line add up to more than %d bytes (8 MiB; a file counts "
          "each time it is included): include fewer or smaller flagfiles",
          kMaxFlagfileBytesInAll));
    }

    // Abseil's reading: each line with leading whitespace stripped; blank lines and '#' comments
    // skipped; "--" or a line not starting with '-' makes Abseil reject the whole file (it
    // reports that itself, and reads nothing the file includes).
    std::vector<Argument> args;
    size_t line = 0;
    for (absl::string_view raw : absl::StrSplit(text, '\n')) {
      ++line;
      const absl::string_view stripped = absl::StripLeadingAsciiWhitespace(raw);
      if (stripped.empty() || stripped[0] == '#') continue;
      if (stripped[0] != '-' || stripped == "--") return absl::OkStatus();
      args.push_back(Argument{std::string(stripped), line});
    }
    const std::string outer_from = from_;
    from_ = source;
    chain_.push_back(OpenFlagfile{path, info.st_dev, info.st_ino});
    status = CheckArguments(args);
    chain_.pop_back();
    from_ = outer_from;
    return status;
  }

  static absl::Status Read(int fd, const struct stat& named, std::string* text) {
    struct stat info;
    if (fstat(fd, &info) != 0) {
      return absl::InvalidArgumentError(absl::StrFormat("cannot read it (%s)", std::strerror(errno)));
    }
    if (!S_ISREG(info.st_mode) || info.st_dev != named.st_dev || info.st_ino != named.st_ino) {
      return absl::InvalidArgumentError(
          absl::StrFormat("it was replaced while being checked (now %s): run again",
                          S_ISREG(info.st_mode) ? "another file" : FileKind(info.st_mode)));
    }
    char buffer[65536];
    while (text->size() <= kMaxFlagfileBytes) {
      const ssize_t got = read(fd, buffer, sizeof(buffer));
      if (got < 0 && errno == EINTR) continue;
      if (got < 0) {
        return absl::InvalidArgumentError(
            absl::StrFormat("cannot read it (%s)", std::strerror(errno)));
      }
      if (got == 0) break;
      text->append(buffer, static_cast<size_t>(got));
    }
    return absl::OkStatus();
  }

  std::vector<OpenFlagfile> chain_;  // the flagfiles being read, outermost first
  std::string from_;                 // where the innermost one was named
  size_t read_ = 0;                  // bytes read in all
};

}  // namespace

absl::Status CheckFlagfiles(const std::vector<std::string>& args) {
  std::vector<Argument> arguments;
  for (const std::string& arg : args) arguments.push_back(Argument{arg, 0});
  return Checker().CheckArguments(arguments);
}

}  // namespace experiments
