#include "saving/hdf5.h"

#include <sys/stat.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <iterator>
#include <map>
#include <memory>
#include <string_view>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "io/atomic_file.h"
#include "io/isolated.h"

namespace saving::hdf5 {
namespace {

// A hostile file must not make us allocate without bound.
constexpr hssize_t kMaxListEntries = hssize_t{1} << 20;

herr_t KeepInnermost(unsigned /*n*/, const H5E_error2_t* error, void* data) {
  auto* message = static_cast<std::string*>(data);
  char minor[160] = "";
  H5Eget_msg(error->min_num, nullptr, minor, sizeof minor);
  *message = absl::StrCat(error->desc != nullptr ? error->desc : "", *minor != 0 ? " (" : "", minor,
                          *minor != 0 ? ")" : "");
  return 0;
}

// "(2, 3)", as autograd::ShapeString writes a shape.
std::string DimsString(const std::vector<size_t>& dims) {
  return absl::StrCat("(", absl::StrJoin(dims, ", "), ")");
}

// The bytes of an HDF5 file built in memory. HDF5's core driver keeps the file in one buffer that
// it allocates through these callbacks and frees at close, after writing the last of it (the
// superblock's final flags: H5Fget_file_image, taken before close, does not open again).
struct FileImage {
  size_t capacity = 0;  // of the driver's buffer
  std::vector<char> bytes;
};

void* ImageMalloc(size_t size, H5FD_file_image_op_t /*op*/, void* udata) {
  static_cast<FileImage*>(udata)->capacity = size;
  return std::malloc(size);
}
void* ImageMemcpy(void* dest, const void* src, size_t size, H5FD_file_image_op_t /*op*/,
                  void* /*udata*/) {
  return std::memcpy(dest, src, size);
}
void* ImageRealloc(void* buffer, size_t size, H5FD_file_image_op_t /*op*/, void* udata) {
  static_cast<FileImage*>(udata)->capacity = size;
  return std::realloc(buffer, size);
}
herr_t ImageFree(void* buffer, H5FD_file_image_op_t op, void* udata) {
  auto* image = static_cast<FileImage*>(udata);
  if (op == H5FD_FILE_IMAGE_OP_FILE_CLOSE && buffer != nullptr) {
    // The buffer grows in steps; the file ends where its superblock (version 2, the 1.8 format,
    // 8-byte addresses) says: the end-of-file address at byte 28.
    const char* bytes = static_cast<const char*>(buffer);
    uint64_t end = 0;
    if (image->capacity >= 36 && bytes[8] == 2 && bytes[9] == 8) {
      std::memcpy(&end, bytes + 28, sizeof end);
    }
    if (end > 0 && end <= image->capacity) image->bytes.assign(bytes, bytes + end);
  }
  std::free(buffer);
  return 0;
}
void* ImageUdataCopy(void* udata) { return udata; }
herr_t ImageUdataFree(void* /*udata*/) { return 0; }

}  // namespace

std::string ErrorMessage() {
  std::string message;
  H5Ewalk2(H5E_DEFAULT, H5E_WALK_DOWNWARD, KeepInnermost, &message);
  H5Eclear2(H5E_DEFAULT);
  return message.empty() ? "unknown HDF5 error" : message;
}

void SilenceErrors() { H5Eset_auto2(H5E_DEFAULT, nullptr, nullptr); }

absl::Status Failed(const std::string& what) {
  return absl::InternalError(absl::StrFormat("%s: %s", what, ErrorMessage()));
}

// ---- Writing ---------------------------------------------------------------------------------

absl::Status WriteString(hid_t object, const char* name, const std::string& value) {
  Hid type(H5Tcopy(H5T_C_S1), H5Tclose);
  if (!type.ok() || H5Tset_size(type.get(), std::max<size_t>(value.size(), 1)) < 0 ||
      H5Tset_strpad(type.get(), H5T_STR_NULLPAD) < 0 ||
      H5Tset_cset(type.get(), H5T_CSET_UTF8) < 0) {
    return Failed(absl::StrCat("attribute ", name));
  }
  Hid space(H5Screate(H5S_SCALAR), H5Sclose);
  Hid attribute(H5Acreate2(object, name, type.get(), space.get(), H5P_DEFAULT, H5P_DEFAULT),
                H5Aclose);
  std::string data = value;
  data.resize(std::max<size_t>(value.size(), 1), '\0');
  if (!attribute.ok() || H5Awrite(attribute.get(), type.get(), data.data()) < 0) {
    return Failed(absl::StrCat("attribute ", name));
  }
  return absl::OkStatus();
}

absl::Status WriteStringList(hid_t object, const char* name,
                             const std::vector<std::string>& values) {
  size_t width = 1;
  for (const std::string& value : values) width = std::max(width, value.size());
  std::string buffer(width * std::max<size_t>(values.size(), 1), '\0');
  for (size_t i = 0; i < values.size(); ++i) buffer.replace(i * width, values[i].size(), values[i]);
  Hid type(H5Tcopy(H5T_C_S1), H5Tclose);
  if (!type.ok() || H5Tset_size(type.get(), width) < 0 ||
      H5Tset_strpad(type.get(), H5T_STR_NULLPAD) < 0) {
    return Failed(absl::StrCat("attribute ", name));
  }
  const hsize_t dims[1] = {values.size()};
  Hid space(H5Screate_simple(1, dims, nullptr), H5Sclose);
  Hid attribute(H5Acreate2(object, name, type.get(), space.get(), H5P_DEFAULT, H5P_DEFAULT),
                H5Aclose);
  if (!attribute.ok() || H5Awrite(attribute.get(), type.get(), buffer.data()) < 0) {
    return Failed(absl::StrCat("attribute ", name));
  }
  return absl::OkStatus();
}

absl::Status WriteInt64(hid_t object, const char* name, int64_t value) {
  Hid space(H5Screate(H5S_SCALAR), H5Sclose);
  Hid attribute(H5Acreate2(object, name, H5T_STD_I64LE, space.get(), H5P_DEFAULT, H5P_DEFAULT),
                H5Aclose);
  if (!attribute.ok() || H5Awrite(attribute.get(), H5T_NATIVE_INT64, &value) < 0) {
    return Failed(absl::StrCat("attribute ", name));
  }
  return absl::OkStatus();
}

absl::Status WriteDataset(hid_t group, const std::string& path, hid_t file_type, hid_t memory_type,
                          const std::vector<hsize_t>& dims, const void* data) {
  Hid links(H5Pcreate(H5P_LINK_CREATE), H5Pclose);
  Hid space(dims.empty() ? H5Screate(H5S_SCALAR)
                         : H5Screate_simple(static_cast<int>(dims.size()), dims.data(), nullptr),
            H5Sclose);
  if (!links.ok() || H5Pset_create_intermediate_group(links.get(), 1) < 0 || !space.ok()) {
    return Failed(absl::StrCat("dataset ", path));
  }
  Hid dataset(H5Dcreate2(group, path.c_str(), file_type, space.get(), links.get(), H5P_DEFAULT,
                         H5P_DEFAULT),
              H5Dclose);
  if (!dataset.ok() ||
      H5Dwrite(dataset.get(), memory_type, H5S_ALL, H5S_ALL, H5P_DEFAULT, data) < 0) {
    return Failed(absl::StrCat("dataset ", path));
  }
  return absl::OkStatus();
}

Hid CreateGroup(hid_t parent, const char* name) {
  return Hid(H5Gcreate2(parent, name, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT), H5Gclose);
}

absl::Status WriteFile(const std::string& path, const std::function<absl::Status(hid_t)>& write) {
  SilenceErrors();
  if (absl::Status status = io::CheckReplaceable(path); !status.ok()) return status;
  FileImage image;
  {
    // The 1.8 file format (read by every HDF5 since 2008, h5py included) stores attributes over
    // 64 KiB, such as a large vocabulary's preprocessing.
    H5FD_file_image_callbacks_t callbacks = {
        ImageMalloc, ImageMemcpy, ImageRealloc, ImageFree, ImageUdataCopy, ImageUdataFree, &image};
    Hid access(H5Pcreate(H5P_FILE_ACCESS), H5Pclose);
    if (!access.ok() || H5Pset_libver_bounds(access.get(), H5F_LIBVER_V18, H5F_LIBVER_V18) < 0 ||
        H5Pset_fapl_core(access.get(), /*increment=*/size_t{1} << 16, /*backing_store=*/0) < 0 ||
        H5Pset_file_image_callbacks(access.get(), &callbacks) < 0) {
      return Failed(absl::StrFormat("cannot save to '%s'", path));
    }
    Hid h5(H5Fcreate(path.c_str(), H5F_ACC_TRUNC, H5P_DEFAULT, access.get()), H5Fclose);
    if (!h5.ok()) return Failed(absl::StrFormat("cannot save to '%s'", path));
    if (absl::Status status = write(h5.get()); !status.ok()) {
      return absl::Status(status.code(),
                          absl::StrFormat("cannot save to '%s': %s", path, status.message()));
    }
    if (!h5.Close() || image.bytes.empty()) {
      return Failed(absl::StrFormat("cannot save to '%s'", path));
    }
  }
  absl::StatusOr<std::unique_ptr<io::AtomicFile>> file = io::AtomicFile::Create(path);
  if (!file.ok()) return file.status();
  if (absl::Status status =
          (*file)->Write(std::string_view(image.bytes.data(), image.bytes.size()));
      !status.ok()) {
    return status;
  }
  return (*file)->Commit([&path](const std::string& temporary) -> absl::Status {
    Hid h5(H5Fopen(temporary.c_str(), H5F_ACC_RDONLY, H5P_DEFAULT), H5Fclose);
    if (!h5.ok())
      return Failed(absl::StrFormat("'%s' was not written: it does not read back", path));
    return absl::OkStatus();
  });
}

// ---- Reading ---------------------------------------------------------------------------------

absl::Status ReadInChildFirst(const std::string& path, const std::function<absl::Status()>& read) {
  // One of several processes of an Open MPI job: its transports may forbid fork() (memory
  // registered for RDMA is missing in a child), so the file is read directly.
  if (const char* ranks = std::getenv("OMPI_COMM_WORLD_SIZE");
      ranks != nullptr && std::atoi(ranks) > 1) {
    return absl::OkStatus();
  }
  absl::Status status = io::SurvivesInChild([&] { return read().ok(); }, /*seconds=*/120,
                                            absl::StrFormat("HDF5 reading '%s'", path));
  if (status.ok()) return status;
  return absl::DataLossError(
      absl::StrFormat("'%s': the file is damaged: %s; nothing was loaded", path, status.message()));
}

Reader::Reader(std::string path, size_t max_string)
    : path_(std::move(path)), max_string_(max_string), file_(-1, H5Fclose) {}

absl::Status Reader::Open() {
  SilenceErrors();
  struct stat info;
  if (stat(path_.c_str(), &info) != 0) {
    return absl::NotFoundError(
        absl::StrFormat("cannot open model file '%s': %s", path_, std::strerror(errno)));
  }
  if (!S_ISREG(info.st_mode)) {
    return absl::InvalidArgumentError(absl::StrFormat(
        "'%s': expected (a model file), got (%s)", path_,
        S_ISDIR(info.st_mode) ? "a directory" : "something that is not a regular file"));
  }
  if (H5Fis_hdf5(path_.c_str()) <= 0) {
    H5Eclear2(H5E_DEFAULT);
    return absl::InvalidArgumentError(absl::StrFormat(
        "'%s': expected (an HDF5 file, as model.save writes), got (%d bytes that are not one)",
        path_, static_cast<int64_t>(info.st_size)));
  }
  file_bytes_ = static_cast<size_t>(info.st_size);
  file_ = Hid(H5Fopen(path_.c_str(), H5F_ACC_RDONLY, H5P_DEFAULT), H5Fclose);
  if (!file_.ok()) return Error("cannot open it as HDF5: " + ErrorMessage());
  return absl::OkStatus();
}

absl::Status Reader::Error(const std::string& problem) const {
  return absl::InvalidArgumentError(absl::StrFormat("'%s': %s", path_, problem));
}

bool Reader::HasAttribute(hid_t object, const char* name) const {
  const htri_t exists = H5Aexists(object, name);
  H5Eclear2(H5E_DEFAULT);
  return exists > 0;
}

bool Reader::HasLink(hid_t group, const char* name) const {
  const htri_t exists = H5Lexists(group, name, H5P_DEFAULT);
  H5Eclear2(H5E_DEFAULT);
  return exists > 0;
}

absl::StatusOr<std::vector<std::string>> Reader::StringList(hid_t object, const std::string& where,
                                                            const char* name) const {
  const std::string what = absl::StrFormat("%s attribute '%s'", where, name);
  if (!HasAttribute(object, name)) return Error(what + ": expected (it), got (nothing)");
  Hid attribute(H5Aopen(object, name, H5P_DEFAULT), H5Aclose);
  Hid type(H5Aget_type(attribute.get()), H5Tclose);
  Hid space(H5Aget_space(attribute.get()), H5Sclose);
  if (!attribute.ok() || !type.ok() || !space.ok()) return Error(what + ": " + ErrorMessage());
  const hssize_t count = H5Sget_simple_extent_npoints(space.get());
  if (count == 0) return std::vector<std::string>();  // h5py writes an empty list as floats
  if (H5Tget_class(type.get()) != H5T_STRING || count < 0 || count > kMaxListEntries) {
    return Error(
        absl::StrFormat("%s: expected (a list of strings), got (%d values of another "
                        "kind)",
                        what, static_cast<int64_t>(count)));
  }
  std::vector<std::string> values;
  if (H5Tis_variable_str(type.get()) > 0) {
    // What h5py writes for a Python str (tf.keras' root keras_version and backend, and any JSON
    // a script stores as str). HDF5 1.10.8 reads each one from the global heap without checking
    // the lengths it finds there (H5HG_read), so a damaged file can crash it or make it allocate
    // wildly. That is contained, not prevented: every file is read first in a forked child
    // (ReadInChildFirst, which the loaders call), which reaches this very read in the same order;
    // its crash or hang becomes a "damaged file" error, and this process reads only a file the
    // child survived. Before that, CheckGlobalHeaps refuses a heap whose objects overrun it:
    // HDF5 would copy past its buffer without crashing (contents of our memory in the string) or
    // allocate and copy gigabytes (minutes per load), which the child cannot tell from success.
    if (absl::Status status = CheckGlobalHeaps(); !status.ok()) return status;
    // HDF5 allocates each string's length times its character's size, which the file declares:
    // one byte, or a flipped bit asks for gigabytes.
    Hid character(H5Tget_super(type.get()), H5Tclose);
    const size_t character_size = character.ok() ? H5Tget_size(character.get()) : 0;
    H5Eclear2(H5E_DEFAULT);
    if (character_size != 1) {
      return Error(absl::StrFormat(
          "%s: expected (variable-length strings of 1-byte characters), got (characters of %d "
          "bytes): the file is damaged; nothing was loaded",
          what, character_size));
    }
    Hid memory(H5Tcopy(H5T_C_S1), H5Tclose);
    // In the file's character set (h5py: UTF-8 for str, ASCII for bytes): HDF5 converts
    // between none.
    if (!memory.ok() || H5Tset_size(memory.get(), H5T_VARIABLE) < 0 ||
        H5Tset_cset(memory.get(), H5Tget_cset(type.get())) < 0) {
      return Error(what + ": " + ErrorMessage());
    }
    std::vector<char*> pointers(count, nullptr);
    if (H5Aread(attribute.get(), memory.get(), pointers.data()) < 0) {
      const absl::Status status = Error(what + ": " + ErrorMessage());
      H5Dvlen_reclaim(memory.get(), space.get(), H5P_DEFAULT, pointers.data());
      return status;
    }
    absl::Status status;
    for (const char* pointer : pointers) {
      const size_t length = pointer == nullptr ? 0 : strnlen(pointer, max_string_ + 1);
      if (length > max_string_) {
        status = Error(absl::StrFormat("%s: expected (strings of at most %d bytes), got (more)",
                                       what, max_string_));
        break;
      }
      values.emplace_back(pointer == nullptr ? "" : pointer, length);
    }
    // The strings were allocated by HDF5 for this read; it frees them.
    H5Dvlen_reclaim(memory.get(), space.get(), H5P_DEFAULT, pointers.data());
    if (!status.ok()) return status;
  } else {
    const size_t width = H5Tget_size(type.get());
    if (width == 0 || width > max_string_) {
      return Error(absl::StrFormat("%s: expected (strings of at most %d bytes), got (%d)", what,
                                   max_string_, width));
    }
    // Read as stored (null-padded or null-terminated), then cut at the first NUL.
    std::string buffer(width * count, '\0');
    if (H5Aread(attribute.get(), type.get(), buffer.data()) < 0) {
      return Error(what + ": " + ErrorMessage());
    }
    for (hssize_t i = 0; i < count; ++i) {
      std::string value = buffer.substr(i * width, width);
      values.push_back(value.substr(0, value.find('\0')));
    }
  }
  return values;
}

// The HDF5 file format specification (version 2 superblock files and earlier alike), "Global
// Heap": a collection is "GCOL", version 1, 3 reserved bytes and its size in bytes (8 with the
// 8-byte lengths h5py's files use; the size includes this 16-byte header); then objects, each an
// index (2 bytes; 0 marks the free space that ends the collection), a reference count (2), 4
// reserved bytes, its size (8) and its data padded to a multiple of 8. HDF5 1.10.8 trusts each
// object size (H5HG__cache_heap_deserialize asserts only in debug builds). The scan looks at
// every "GCOL" in the file: a false match inside other data can only refuse a file, never
// admit a damaged one.
absl::Status Reader::CheckGlobalHeaps() const {
  if (global_heaps_checked_) return global_heaps_;
  global_heaps_checked_ = true;
  std::ifstream in(path_, std::ios::binary);
  const std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  const auto little_endian = [&bytes](size_t at, size_t width) {
    uint64_t value = 0;
    for (size_t i = 0; i < width; ++i) {
      value |= static_cast<uint64_t>(static_cast<unsigned char>(bytes[at + i])) << (8 * i);
    }
    return value;
  };
  constexpr size_t kHeader = 16, kObjectHeader = 16;
  const auto damaged = [&](const std::string& problem) {
    global_heaps_ = Error(absl::StrCat("the file is damaged: ", problem, "; nothing was loaded"));
    return global_heaps_;
  };
  for (size_t at = bytes.find("GCOL"); at != std::string::npos; at = bytes.find("GCOL", at + 1)) {
    if (at + kHeader > bytes.size() || bytes[at + 4] != 1) continue;  // HDF5 refuses those itself
    const uint64_t size = little_endian(at + 8, 8);
    if (size < kHeader || size > bytes.size() - at) continue;  // past the end: HDF5 refuses it
    const size_t end = at + size;
    std::map<uint64_t, uint64_t> object_sizes;  // by index
    for (size_t object = at + kHeader; object + kObjectHeader <= end;) {
      const uint64_t index = little_endian(object, 2), object_size = little_endian(object + 8, 8);
      if (index == 0) break;  // the free space
      if (object_size > end - object - kObjectHeader) {
        return damaged(absl::StrFormat(
            "its global heap at byte %d declares an object of %d bytes where %d remain", at,
            object_size, end - object - kObjectHeader));
      }
      object_sizes[index] = object_size;
      object += kObjectHeader + (object_size + 7) / 8 * 8;
    }
    // A reference to one of these objects (the stored form of a variable-length value: its
    // length in 4 bytes, the collection's address in 8, the object's index in 4) must declare
    // the object's own length: HDF5 allocates what the reference declares (a flipped bit: 4 GiB,
    // filled, in the child and again here) and copies what the object holds into it (more: past
    // the allocation). Every string here is one byte per character, so the two are equal.
    std::string address(8, '\0');
    for (size_t i = 0; i < 8; ++i) address[i] = static_cast<char>((at >> (8 * i)) & 0xFF);
    for (size_t ref = bytes.find(address, 4); ref != std::string::npos && ref + 12 <= bytes.size();
         ref = bytes.find(address, ref + 1)) {
      auto object = object_sizes.find(little_endian(ref + 8, 4));
      if (object == object_sizes.end()) continue;  // not a reference to one of them
      const uint64_t declared = little_endian(ref - 4, 4);
      if (declared != object->second) {
        return damaged(absl::StrFormat(
            "a variable-length value at byte %d declares %d bytes, and the global heap object it "
            "names holds %d",
            ref - 4, declared, object->second));
      }
    }
  }
  return global_heaps_;
}

absl::StatusOr<std::vector<std::string>> Reader::ChunkedStringList(hid_t object,
                                                                   const std::string& where,
                                                                   const char* name) const {
  if (HasAttribute(object, name) || !HasAttribute(object, absl::StrCat(name, "0").c_str())) {
    return StringList(object, where, name);
  }
  std::vector<std::string> values;
  for (size_t chunk = 0;; ++chunk) {
    const std::string chunk_name = absl::StrCat(name, chunk);
    if (!HasAttribute(object, chunk_name.c_str())) break;
    absl::StatusOr<std::vector<std::string>> part = StringList(object, where, chunk_name.c_str());
    if (!part.ok()) return part.status();
    values.insert(values.end(), part->begin(), part->end());
    if (values.size() > static_cast<size_t>(kMaxListEntries)) {
      return Error(absl::StrFormat("%s attribute '%s': expected (at most %d names), got (more)",
                                   where, name, kMaxListEntries));
    }
  }
  return values;
}

absl::StatusOr<std::string> Reader::String(hid_t object, const std::string& where,
                                           const char* name) const {
  absl::StatusOr<std::vector<std::string>> values = StringList(object, where, name);
  if (!values.ok()) return values.status();
  if (values->size() != 1) {
    return Error(absl::StrFormat("%s attribute '%s': expected (one string), got (%d)", where, name,
                                 values->size()));
  }
  return (*values)[0];
}

absl::StatusOr<int64_t> Reader::Int64(hid_t object, const std::string& where,
                                      const char* name) const {
  const std::string what = absl::StrFormat("%s attribute '%s'", where, name);
  if (!HasAttribute(object, name)) return Error(what + ": expected (it), got (nothing)");
  Hid attribute(H5Aopen(object, name, H5P_DEFAULT), H5Aclose);
  Hid type(H5Aget_type(attribute.get()), H5Tclose);
  Hid space(H5Aget_space(attribute.get()), H5Sclose);
  int64_t value = 0;
  if (!attribute.ok() || H5Tget_class(type.get()) != H5T_INTEGER ||
      H5Sget_simple_extent_npoints(space.get()) != 1 ||
      H5Aread(attribute.get(), H5T_NATIVE_INT64, &value) < 0) {
    H5Eclear2(H5E_DEFAULT);
    return Error(what + ": expected (one integer), got (something else)");
  }
  return value;
}

absl::StatusOr<Reader::OpenDataset> Reader::Open(hid_t group, const std::string& path,
                                                 const std::string& what) const {
  Hid dataset(H5Dopen2(group, path.c_str(), H5P_DEFAULT), H5Dclose);
  if (!dataset.ok()) {
    H5Eclear2(H5E_DEFAULT);
    return Error(what + ": expected (a dataset), got (nothing under that name)");
  }
  Hid type(H5Dget_type(dataset.get()), H5Tclose);
  Hid space(H5Dget_space(dataset.get()), H5Sclose);
  if (!type.ok() || !space.ok()) {
    return Error(what + ": expected (an array), got (an unreadable one): " + ErrorMessage());
  }
  return OpenDataset{std::move(dataset), std::move(type), std::move(space)};
}

absl::Status Reader::Dataset(hid_t group, const std::string& where, const std::string& path,
                             const std::vector<size_t>& expected, H5T_class_t kind,
                             hid_t memory_type, void* data) const {
  const std::string what = absl::StrFormat("%s, weight '%s'", where, path);
  absl::StatusOr<OpenDataset> opened = Open(group, path, what);
  if (!opened.ok()) return opened.status();
  const Hid &dataset = opened->dataset, &type = opened->type, &space = opened->space;
  const int rank = H5Sget_simple_extent_ndims(space.get());
  if (rank < 0 || rank > 8) {
    return Error(what + ": expected (an array), got (an unreadable one): " + ErrorMessage());
  }
  std::vector<hsize_t> dims(rank);
  H5Sget_simple_extent_dims(space.get(), dims.data(), nullptr);
  const std::vector<size_t> got(dims.begin(), dims.end());
  if (got != expected) {
    return Error(absl::StrFormat("%s: expected shape %s, got %s", what, DimsString(expected),
                                 DimsString(got)));
  }
  if (H5Tget_class(type.get()) != kind) {
    return Error(absl::StrFormat("%s: expected (%s), got (another type)", what,
                                 kind == H5T_FLOAT ? "floating-point numbers" : "integers"));
  }
  if (absl::Status status = CheckStored(dataset.get(), type.get(), space.get(), what);
      !status.ok()) {
    return status;
  }
  if (H5Dread(dataset.get(), memory_type, H5S_ALL, H5S_ALL, H5P_DEFAULT, data) < 0) {
    return Error(absl::StrFormat("%s: %s", what, ErrorMessage()));
  }
  return absl::OkStatus();
}

// A chunk index or an external file list (data in another file, /dev/zero or a FIFO) declares
// sizes the file does not hold.
absl::Status Reader::CheckStored(hid_t dataset, hid_t type, hid_t space,
                                 const std::string& what) const {
  Hid creation(H5Dget_create_plist(dataset), H5Pclose);
  const H5D_layout_t layout = creation.ok() ? H5Pget_layout(creation.get()) : H5D_LAYOUT_ERROR;
  const int external = creation.ok() ? H5Pget_external_count(creation.get()) : -1;
  H5Eclear2(H5E_DEFAULT);
  if ((layout != H5D_CONTIGUOUS && layout != H5D_COMPACT) || external != 0) {
    return Error(absl::StrFormat(
        "%s: expected (a contiguous dataset stored in the file, as Keras writes), got (%s)", what,
        external > 0            ? "one whose data lies in other files"
        : layout == H5D_CHUNKED ? "a chunked one"
        : layout == H5D_VIRTUAL ? "a virtual one"
                                : "an unreadable layout"));
  }
  const hssize_t count = H5Sget_simple_extent_npoints(space);
  const size_t element = H5Tget_size(type);
  const hsize_t stored = H5Dget_storage_size(dataset);
  H5Eclear2(H5E_DEFAULT);
  if (count < 0 || element == 0 || static_cast<hsize_t>(count) > stored / element) {
    return Error(absl::StrFormat(
        "%s: expected (the %d values it declares), got (%d bytes stored): the file is damaged",
        what, static_cast<int64_t>(count), static_cast<uint64_t>(stored)));
  }
  return absl::OkStatus();
}

absl::StatusOr<size_t> Reader::StoredValues(hid_t group, const std::string& where,
                                            const std::string& path) const {
  const std::string what = absl::StrFormat("%s, weight '%s'", where, path);
  absl::StatusOr<OpenDataset> opened = Open(group, path, what);
  if (!opened.ok()) return opened.status();
  if (absl::Status status =
          CheckStored(opened->dataset.get(), opened->type.get(), opened->space.get(), what);
      !status.ok()) {
    return status;
  }
  return static_cast<size_t>(H5Sget_simple_extent_npoints(opened->space.get()));
}

Hid Reader::OpenGroup(hid_t parent, const char* name) const {
  Hid group(H5Gopen2(parent, name, H5P_DEFAULT), H5Gclose);
  if (!group.ok()) H5Eclear2(H5E_DEFAULT);
  return group;
}

}  // namespace saving::hdf5
