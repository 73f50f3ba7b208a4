// HDF5 files through HDF5's C API, with Status errors: the owned identifiers, attributes (fixed-
// length strings, string lists, integers), datasets, groups, files written whole or not at all
// (io::AtomicFile), and reading an untrusted file (first in a forked child, with every size it
// declares checked against what it stores). Nothing here knows a file's layout: the Keras model
// files built on it are saving/model_file.h's. The errors of Reader speak of model files and
// weights, the one kind of file read through it.
//
// HDF5's own error printing is switched off (SilenceErrors, called by WriteFile and
// Reader::Open); an error ends with HDF5's innermost message (ErrorMessage).
#ifndef SAVING_HDF5_H_
#define SAVING_HDF5_H_

#include <hdf5.h>

#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace saving::hdf5 {

// Owns one HDF5 identifier and closes it.
class Hid {
 public:
  Hid(hid_t id, herr_t (*close)(hid_t)) : id_(id), close_(close) {}
  ~Hid() {
    if (id_ >= 0) close_(id_);
  }
  Hid(Hid&& other) noexcept : id_(std::exchange(other.id_, -1)), close_(other.close_) {}
  Hid& operator=(Hid&& other) noexcept {
    if (this != &other) {
      if (id_ >= 0) close_(id_);
      id_ = std::exchange(other.id_, -1);
      close_ = other.close_;
    }
    return *this;
  }
  hid_t get() const { return id_; }
  bool ok() const { return id_ >= 0; }
  // Closes now and reports whether that worked (closing a file writes what is buffered).
  bool Close() {
    const herr_t result = id_ >= 0 ? close_(id_) : -1;
    id_ = -1;
    return result >= 0;
  }

 private:
  hid_t id_;
  herr_t (*close_)(hid_t);
};

// HDF5's own account of the last failure, its innermost entry; the stack is then cleared.
std::string ErrorMessage();
// HDF5 prints its error stack to stderr by default; we report through Status instead.
void SilenceErrors();
// Internal: "<what>: <ErrorMessage()>".
absl::Status Failed(const std::string& what);

// ---- Writing ---------------------------------------------------------------------------------

// A scalar fixed-length UTF-8 string (numpy's bytes). Not the variable-length kind h5py writes
// for a str: HDF5 1.10 reads those through its global heap without checking lengths, so readers
// of our files need not take that risk (Reader::StringList reads both kinds).
absl::Status WriteString(hid_t object, const char* name, const std::string& value);
// A list of fixed-length, null-padded strings, as h5py writes numpy's 'S' arrays.
absl::Status WriteStringList(hid_t object, const char* name,
                             const std::vector<std::string>& values);
// A scalar little-endian int64 attribute.
absl::Status WriteInt64(hid_t object, const char* name, int64_t value);
// A dataset at `path` under `group` ("lstm/lstm_cell/kernel:0": the groups on the way are
// created, as h5py does for a name with slashes); `dims` empty: a scalar.
absl::Status WriteDataset(hid_t group, const std::string& path, hid_t file_type, hid_t memory_type,
                          const std::vector<hsize_t>& dims, const void* data);
Hid CreateGroup(hid_t parent, const char* name);

// Writes through `write` into a new HDF5 file (the 1.8 format) that replaces `path` only once
// whole and readable. HDF5 builds the file in memory (its core driver, no backing store); the
// bytes then go through io::AtomicFile. So a failing disk (full, a file-size limit) meets our own
// write, which removes the temporary and reports, never HDF5's I/O layer, which is left in a
// state that crashes it when the library closes at exit. Errors start "cannot save to '<path>'".
absl::Status WriteFile(const std::string& path, const std::function<absl::Status(hid_t)>& write);

// ---- Reading ---------------------------------------------------------------------------------

// HDF5 1.10 is not hardened against hostile files: some damaged ones crash its parser (reads out
// of bounds) or make it loop, instead of giving an error. So `read` (a read of the file at
// `path`) runs first in a forked child (io::SurvivesInChild); OkStatus when the child finished,
// with the file read or with one of our errors: the caller then reads it in this process (and
// meets the same result). Costs a fork and a second read of the file: //saving:bench_load
// measures it (about 19 ms on a 48 KB file, 150 ms on a 35 MB one, 2-core Xeon @ 2.50GHz). In a
// process of an Open MPI job of several ranks (whose transports may forbid fork()) it returns
// OkStatus without reading, and that process reads the file unprotected.
absl::Status ReadInChildFirst(const std::string& path, const std::function<absl::Status()>& read);

// Reads from one open file; every error names it.
class Reader {
 public:
  // Strings longer than `max_string` bytes are refused.
  Reader(std::string path, size_t max_string);

  // Opens the file read-only: it must be a regular file and an HDF5 one.
  absl::Status Open();

  hid_t file() const { return file_.get(); }
  size_t file_bytes() const { return file_bytes_; }
  const std::string& path() const { return path_; }

  // InvalidArgument "'<path>': <problem>".
  absl::Status Error(const std::string& problem) const;

  bool HasAttribute(hid_t object, const char* name) const;
  bool HasLink(hid_t group, const char* name) const;

  // A list of strings, or one: fixed-length (numpy bytes) or variable-length (what h5py writes
  // for a Python str; safe only behind ReadInChildFirst, see hdf5.cc); `where` names the object
  // in errors.
  absl::StatusOr<std::vector<std::string>> StringList(hid_t object, const std::string& where,
                                                      const char* name) const;
  // StringList, or when `name` is absent the chunks `name`0, `name`1, ... joined: tf.keras'
  // save_attributes_to_hdf5_group splits a list over HDF5's 64 KiB object header limit so.
  absl::StatusOr<std::vector<std::string>> ChunkedStringList(hid_t object, const std::string& where,
                                                             const char* name) const;
  absl::StatusOr<std::string> String(hid_t object, const std::string& where,
                                     const char* name) const;
  absl::StatusOr<int64_t> Int64(hid_t object, const std::string& where, const char* name) const;

  struct OpenDataset {
    Hid dataset, type, space;
  };
  // The dataset `path` under `group`, with its type and extent; errors name `what`.
  absl::StatusOr<OpenDataset> Open(hid_t group, const std::string& path,
                                   const std::string& what) const;

  // The dataset `path` under `group`, of numbers of class `kind` shaped `expected` (empty
  // `expected`: scalar), read as `memory_type` into `data` (sized by the caller).
  absl::Status Dataset(hid_t group, const std::string& where, const std::string& path,
                       const std::vector<size_t>& expected, H5T_class_t kind, hid_t memory_type,
                       void* data) const;

  // A dataset's declared values must all be stored: a few bytes of file cannot make us allocate
  // gigabytes, and what is not stored would read as made-up fill values. Only contiguous or
  // compact layouts stored in this file pass.
  absl::Status CheckStored(hid_t dataset, hid_t type, hid_t space, const std::string& what) const;

  // The number of values of the dataset `path` under `group`, once checked to be stored.
  absl::StatusOr<size_t> StoredValues(hid_t group, const std::string& where,
                                      const std::string& path) const;

  // The group, or a closed Hid (ok() false) when there is none.
  Hid OpenGroup(hid_t parent, const char* name) const;

  // Every global heap collection of the file (where variable-length strings live) holds the
  // objects it declares; checked once per file, before the first variable-length read.
  absl::Status CheckGlobalHeaps() const;

 private:
  std::string path_;
  size_t max_string_;
  size_t file_bytes_ = 0;
  Hid file_;
  mutable bool global_heaps_checked_ = false;
  mutable absl::Status global_heaps_;
};

}  // namespace saving::hdf5

#endif  // SAVING_HDF5_H_
