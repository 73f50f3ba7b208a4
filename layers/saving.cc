#include "layers/saving.h"

#include <fcntl.h>
#include <hdf5.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cmath>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <functional>
#include <map>
#include <optional>
#include <set>
#include <type_traits>
#include <unordered_map>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "io/atomic_file.h"
#include "io/isolated.h"
#include "io/json_nesting.h"
#include "layers/attention.h"
#include "layers/config.h"
#include "layers/functional.h"
#include "layers/recurrent.h"

namespace layers {
namespace {

constexpr char kKerasVersion[] = "2.11.0";
constexpr char kBackend[] = "tensorflow";
// A hostile file must not make us allocate without bound.
constexpr hssize_t kMaxListEntries = hssize_t{1} << 20;
// The most layer calls (nodes) a model file's graph may hold, and tensors one call may take: far
// above any real model, and what keeps a hostile config from making us build without bound.
constexpr size_t kMaxGraphNodes = size_t{1} << 16;
constexpr size_t kMaxNodeTensors = 1024;


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

// The floating type of Array in memory, and in the file (float32 as Keras, unless Real is double).
hid_t MemoryRealType() {
  return std::is_same<Real, double>::value ? H5T_NATIVE_DOUBLE : H5T_NATIVE_FLOAT;
}
hid_t FileRealType() { return std::is_same<Real, double>::value ? H5T_IEEE_F64LE : H5T_IEEE_F32LE; }

herr_t KeepInnermost(unsigned /*n*/, const H5E_error2_t* error, void* data) {
  auto* message = static_cast<std::string*>(data);
  char minor[160] = "";
  H5Eget_msg(error->min_num, nullptr, minor, sizeof minor);
  *message = absl::StrCat(error->desc != nullptr ? error->desc : "", *minor != 0 ? " (" : "", minor,
                          *minor != 0 ? ")" : "");
  return 0;
}

// HDF5's own account of the last failure, its innermost entry; the stack is then cleared.
std::string Hdf5Message() {
  std::string message;
  H5Ewalk2(H5E_DEFAULT, H5E_WALK_DOWNWARD, KeepInnermost, &message);
  H5Eclear2(H5E_DEFAULT);
  return message.empty() ? "unknown HDF5 error" : message;
}

// HDF5 prints its error stack to stderr by default; we report through Status instead.
void SilenceHdf5() { H5Eset_auto2(H5E_DEFAULT, nullptr, nullptr); }

absl::Status Failed(const std::string& what) {
  return absl::InternalError(absl::StrFormat("%s: %s", what, Hdf5Message()));
}

// ---- Writing ---------------------------------------------------------------------------------

// A scalar fixed-length string (numpy's bytes, which Keras' loader decodes as UTF-8). Not the
// variable-length kind h5py writes for a str: HDF5 1.10 reads those through its global heap
// without checking lengths, and a damaged file crashes the reader (Reader::StringList).
absl::Status WriteString(hid_t object, const char* name, const std::string& value) {
  if (value.size() > kMaxModelFileString) {
    return absl::InvalidArgumentError(absl::StrFormat(
        "attribute %s: %d bytes, more than the %d a model file may hold in one string", name,
        value.size(), kMaxModelFileString));
  }
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

// A list of fixed-length, null-padded strings, as h5py writes numpy's 'S' arrays (Keras'
// layer_names and weight_names).
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

// A dataset at `path` under `group` ("lstm/lstm_cell/kernel:0": the groups on the way are
// created, as h5py does for a name with slashes).
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

absl::Status WriteArray(hid_t group, const std::string& path, const Array& value) {
  std::vector<hsize_t> dims(value.shape().begin(), value.shape().end());
  return WriteDataset(group, path, FileRealType(), MemoryRealType(), dims, value.data());
}

Hid CreateGroup(hid_t parent, const char* name) {
  return Hid(H5Gcreate2(parent, name, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT), H5Gclose);
}

// Keras' save_weights_to_hdf5_group: layer_names, then a group per layer with weight_names and
// the datasets.
absl::Status WriteWeights(hid_t group, const Model& model) {
  std::vector<std::string> layer_names;
  for (const LayerPtr& layer : model.layers()) layer_names.push_back(layer->name());
  if (absl::Status status = WriteStringList(group, "layer_names", layer_names); !status.ok()) {
    return status;
  }
  if (absl::Status status = WriteString(group, "backend", kBackend); !status.ok()) return status;
  if (absl::Status status = WriteString(group, "keras_version", kKerasVersion); !status.ok()) {
    return status;
  }
  for (const LayerPtr& layer : model.layers()) {
    Hid layer_group = CreateGroup(group, layer->name().c_str());
    if (!layer_group.ok()) return Failed(absl::StrCat("group ", layer->name()));
    const std::vector<std::string> names = layer->KerasWeightNames();
    if (absl::Status status = WriteStringList(layer_group.get(), "weight_names", names);
        !status.ok()) {
      return status;
    }
    const std::vector<Array> values = layer->GetWeights();
    for (size_t i = 0; i < names.size(); ++i) {
      if (absl::Status status = WriteArray(layer_group.get(), names[i], values[i]); !status.ok()) {
        return status;
      }
    }
  }
  return absl::OkStatus();
}

// "lstm/lstm_cell/kernel:0" -> "lstm/lstm_cell/kernel".
std::string WithoutSuffix(const std::string& name) {
  return name.size() > 2 && name.compare(name.size() - 2, 2, ":0") == 0
             ? name.substr(0, name.size() - 2)
             : name;
}

// Keras' optimizer weight names: "Adam/iter:0", then "Adam/<weight>/<slot>:0" for each slot kind
// and each weight.
std::vector<std::string> OptimizerWeightNames(const Model& model,
                                              const autograd::OptimizerState& state) {
  const std::string optimizer = model.optimizer()->name();
  std::vector<std::string> names = {optimizer + "/iter:0"};
  std::vector<std::string> weights;
  for (const LayerPtr& layer : model.layers()) {
    for (const std::string& name : layer->KerasWeightNames()) weights.push_back(name);
  }
  for (const std::string& slot : state.slot_names) {
    for (const std::string& weight : weights) {
      names.push_back(absl::StrFormat("%s/%s/%s:0", optimizer, WithoutSuffix(weight), slot));
    }
  }
  return names;
}

Json TrainingConfig(const Model& model) {
  Json metrics = Json::array();
  for (const std::string& metric : model.metrics()) metrics.push_back(metric);
  Json config = Json::object();
  // Keras writes the losses and loss_weights as compile was given them: one name for every
  // output, or one per output; loss_weights null when not given (every output weighs 1).
  const std::vector<std::string> losses = model.losses();
  bool one_loss = true, unweighted = true;
  for (const std::string& loss : losses) one_loss &= loss == losses.front();
  for (double weight : model.loss_weights()) unweighted &= weight == 1.0;
  config["loss"] = one_loss ? Json(model.loss()) : Json(losses);
  config["metrics"] = metrics;
  config["weighted_metrics"] = nullptr;
  config["loss_weights"] = unweighted ? Json(nullptr) : Json(model.loss_weights());
  config["optimizer_config"] = OptimizerToConfig(*model.optimizer());
  return config;
}

absl::StatusOr<Json> FunctionalConfig(const Model& model);

absl::StatusOr<Json> ModelConfig(const Model& model) {
  if (!model.is_sequential()) return FunctionalConfig(model);
  Json layers = Json::array();
  // tf.keras 2's Sequential lists the InputLayer it creates from the first layer's input shape.
  Json batch_input_shape = Json::array({nullptr});
  for (size_t extent : model.input_shape()) batch_input_shape.push_back(extent);
  layers.push_back(Json{{"class_name", "InputLayer"},
                        {"config", Json{{"batch_input_shape", batch_input_shape},
                                        {"dtype", "float32"},
                                        {"sparse", false},
                                        {"ragged", false},
                                        {"name", model.layers()[0]->name() + "_input"}}}});
  for (size_t i = 0; i < model.layers().size(); ++i) {
    layers.push_back(LayerToConfig(*model.layers()[i], i == 0 ? &model.input_shape() : nullptr));
  }
  return Json{{"class_name", "Sequential"},
              {"config", Json{{"name", model.name()}, {"layers", layers}}}};
}

absl::Status WriteModel(hid_t file, const Model& model,
                        const Model::TrainingState& state) {
  absl::StatusOr<Json> model_config = ModelConfig(model);
  if (!model_config.ok()) return model_config.status();
  for (const auto& [name, value] :
       {std::pair<const char*, std::string>{"keras_version", kKerasVersion},
        {"backend", kBackend},
        {"model_config", model_config->dump()}}) {
    if (absl::Status status = WriteString(file, name, value); !status.ok()) return status;
  }
  if (model.compiled()) {
    if (absl::Status status = WriteString(file, "training_config", TrainingConfig(model).dump());
        !status.ok()) {
      return status;
    }
  }
  if (!model.preprocessing().empty()) {
    if (absl::Status status = WriteString(file, "preprocessing", model.preprocessing());
        !status.ok()) {
      return status;
    }
  }
  Hid weights = CreateGroup(file, "model_weights");
  if (!weights.ok()) return Failed("group model_weights");
  if (absl::Status status = WriteWeights(weights.get(), model); !status.ok()) return status;

  if (model.compiled()) {
    const std::vector<Tensor> parameters = model.Parameters();
    const autograd::OptimizerState optimizer = model.optimizer()->GetState(parameters);
    const std::vector<std::string> names = OptimizerWeightNames(model, optimizer);
    Hid group = CreateGroup(file, "optimizer_weights");
    if (!group.ok()) return Failed("group optimizer_weights");
    if (absl::Status status = WriteStringList(group.get(), "weight_names", names); !status.ok()) {
      return status;
    }
    if (absl::Status status = WriteDataset(group.get(), names[0], H5T_STD_I64LE, H5T_NATIVE_INT64,
                                           {}, &optimizer.iterations);
        !status.ok()) {
      return status;
    }
    size_t next = 1;
    for (const std::vector<Array>& slot : optimizer.slots) {
      for (const Array& value : slot) {
        if (absl::Status status = WriteArray(group.get(), names[next++], value); !status.ok()) {
          return status;
        }
      }
    }
  }

  Hid training = CreateGroup(file, "training_state");
  if (!training.ok()) return Failed("group training_state");
  if (absl::Status status = WriteString(training.get(), "rng", state.rng); !status.ok()) {
    return status;
  }
  if (absl::Status status = WriteInt64(training.get(), "epochs", state.epochs); !status.ok()) {
    return status;
  }
  return WriteDataset(training.get(), "order", H5T_STD_U64LE, H5T_NATIVE_UINT64,
                      {state.order.size()}, state.order.data());
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

// Writes through `write` into a new HDF5 file that replaces `path` only once whole and readable.
// HDF5 builds the file in memory (its core driver, no backing store); the bytes then go through
// io::AtomicFile. So a failing disk (full, a file-size limit) meets our own write, which removes
// the temporary and reports, never HDF5's I/O layer, which is left in a state that crashes it
// when the library closes at exit.
absl::Status SaveFile(const std::string& path, const std::function<absl::Status(hid_t)>& write) {
  SilenceHdf5();
  if (absl::Status status = io::CheckReplaceable(path); !status.ok()) return status;
  FileImage image;
  {
    // The 1.8 file format (read by every HDF5 since 2008, h5py included) stores attributes over
    // 64 KiB, such as a large vocabulary's preprocessing.
    H5FD_file_image_callbacks_t callbacks = {ImageMalloc,    ImageMemcpy,    ImageRealloc,
                                             ImageFree,      ImageUdataCopy, ImageUdataFree,
                                             &image};
    Hid access(H5Pcreate(H5P_FILE_ACCESS), H5Pclose);
    if (!access.ok() ||
        H5Pset_libver_bounds(access.get(), H5F_LIBVER_V18, H5F_LIBVER_V18) < 0 ||
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

// Reads from one open file; every error names it.
class Reader {
 public:
  explicit Reader(std::string path) : path_(std::move(path)), file_(-1, H5Fclose) {}

  absl::Status Open() {
    SilenceHdf5();
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
    if (!file_.ok()) return Error("cannot open it as HDF5: " + Hdf5Message());
    return absl::OkStatus();
  }

  hid_t file() const { return file_.get(); }
  size_t file_bytes() const { return file_bytes_; }
  const std::string& path() const { return path_; }

  absl::Status Error(const std::string& problem) const {
    return absl::InvalidArgumentError(absl::StrFormat("'%s': %s", path_, problem));
  }

  bool HasAttribute(hid_t object, const char* name) const {
    const htri_t exists = H5Aexists(object, name);
    H5Eclear2(H5E_DEFAULT);
    return exists > 0;
  }
  bool HasLink(hid_t group, const char* name) const {
    const htri_t exists = H5Lexists(group, name, H5P_DEFAULT);
    H5Eclear2(H5E_DEFAULT);
    return exists > 0;
  }

  absl::StatusOr<std::vector<std::string>> StringList(hid_t object, const std::string& where,
                                                      const char* name) const {
    const std::string what = absl::StrFormat("%s attribute '%s'", where, name);
    if (!HasAttribute(object, name)) return Error(what + ": expected (it), got (nothing)");
    Hid attribute(H5Aopen(object, name, H5P_DEFAULT), H5Aclose);
    Hid type(H5Aget_type(attribute.get()), H5Tclose);
    Hid space(H5Aget_space(attribute.get()), H5Sclose);
    if (!attribute.ok() || !type.ok() || !space.ok()) return Error(what + ": " + Hdf5Message());
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
      // HDF5 1.10.8 follows a variable-length string's heap reference without bounds: a damaged
      // file crashes it (H5HG_read). Files from this library never hold them.
      return Error(absl::StrFormat(
          "%s: expected (fixed-length strings, as this library writes), got (variable-length "
          "ones, as h5py writes for Python str, which HDF5 1.10 cannot read safely from an "
          "untrusted file); re-save the model with this library",
          what));
    } else {
      const size_t width = H5Tget_size(type.get());
      if (width == 0 || width > kMaxModelFileString) {
        return Error(absl::StrFormat("%s: expected (strings of at most %d bytes), got (%d)", what,
                                     kMaxModelFileString, width));
      }
      // Read as stored (null-padded or null-terminated), then cut at the first NUL.
      std::string buffer(width * count, '\0');
      if (H5Aread(attribute.get(), type.get(), buffer.data()) < 0) {
        return Error(what + ": " + Hdf5Message());
      }
      for (hssize_t i = 0; i < count; ++i) {
        std::string value = buffer.substr(i * width, width);
        values.push_back(value.substr(0, value.find('\0')));
      }
    }
    return values;
  }

  absl::StatusOr<std::string> String(hid_t object, const std::string& where,
                                     const char* name) const {
    absl::StatusOr<std::vector<std::string>> values = StringList(object, where, name);
    if (!values.ok()) return values.status();
    if (values->size() != 1) {
      return Error(absl::StrFormat("%s attribute '%s': expected (one string), got (%d)", where,
                                   name, values->size()));
    }
    return (*values)[0];
  }

  absl::StatusOr<int64_t> Int64(hid_t object, const std::string& where, const char* name) const {
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

  struct OpenDataset {
    Hid dataset, type, space;
  };
  // The dataset `path` under `group`, with its type and extent; errors name `what`.
  absl::StatusOr<OpenDataset> Open(hid_t group, const std::string& path,
                                   const std::string& what) const {
    Hid dataset(H5Dopen2(group, path.c_str(), H5P_DEFAULT), H5Dclose);
    if (!dataset.ok()) {
      H5Eclear2(H5E_DEFAULT);
      return Error(what + ": expected (a dataset), got (nothing under that name)");
    }
    Hid type(H5Dget_type(dataset.get()), H5Tclose);
    Hid space(H5Dget_space(dataset.get()), H5Sclose);
    if (!type.ok() || !space.ok()) {
      return Error(what + ": expected (an array), got (an unreadable one): " + Hdf5Message());
    }
    return OpenDataset{std::move(dataset), std::move(type), std::move(space)};
  }

  // The dataset `path` under `group`, of numbers shaped `expected` (empty `expected`: scalar),
  // read as `memory_type` into `data` (sized by the caller).
  absl::Status Dataset(hid_t group, const std::string& where, const std::string& path,
                       const Shape& expected, H5T_class_t kind, hid_t memory_type,
                       void* data) const {
    const std::string what = absl::StrFormat("%s, weight '%s'", where, path);
    absl::StatusOr<OpenDataset> opened = Open(group, path, what);
    if (!opened.ok()) return opened.status();
    const Hid &dataset = opened->dataset, &type = opened->type, &space = opened->space;
    const int rank = H5Sget_simple_extent_ndims(space.get());
    if (rank < 0 || rank > 8) {
      return Error(what + ": expected (an array), got (an unreadable one): " + Hdf5Message());
    }
    std::vector<hsize_t> dims(rank);
    H5Sget_simple_extent_dims(space.get(), dims.data(), nullptr);
    const Shape got(dims.begin(), dims.end());
    if (got != expected) {
      return Error(absl::StrFormat("%s: expected shape %s, got %s", what,
                                   autograd::ShapeString(expected), autograd::ShapeString(got)));
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
      return Error(absl::StrFormat("%s: %s", what, Hdf5Message()));
    }
    return absl::OkStatus();
  }

  // A dataset's declared values must all be stored: a few bytes of file cannot make us allocate
  // gigabytes, and what is not stored would read as made-up fill values.
  // Only the layouts Keras and this library write, contiguous or compact, stored in this file:
  // a chunk index or an external file list (data in another file, /dev/zero or a FIFO) declares
  // sizes the file does not hold.
  absl::Status CheckStored(hid_t dataset, hid_t type, hid_t space, const std::string& what) const {
    Hid creation(H5Dget_create_plist(dataset), H5Pclose);
    const H5D_layout_t layout = creation.ok() ? H5Pget_layout(creation.get()) : H5D_LAYOUT_ERROR;
    const int external = creation.ok() ? H5Pget_external_count(creation.get()) : -1;
    H5Eclear2(H5E_DEFAULT);
    if ((layout != H5D_CONTIGUOUS && layout != H5D_COMPACT) || external != 0) {
      return Error(absl::StrFormat(
          "%s: expected (a contiguous dataset stored in the file, as Keras writes), got (%s)",
          what,
          external > 0                ? "one whose data lies in other files"
          : layout == H5D_CHUNKED     ? "a chunked one"
          : layout == H5D_VIRTUAL     ? "a virtual one"
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

  // The number of values of the dataset `path` under `group`, once checked to be stored.
  absl::StatusOr<size_t> StoredValues(hid_t group, const std::string& where,
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

  // Weights and optimizer state: floating-point and finite (a NaN loaded is a NaN predicted).
  absl::StatusOr<Array> ReadArray(hid_t group, const std::string& where, const std::string& path,
                                  const Shape& expected) const {
    Array value = Array::from_shape(expected);
    if (absl::Status status =
            Dataset(group, where, path, expected, H5T_FLOAT, MemoryRealType(), value.data());
        !status.ok()) {
      return status;
    }
    for (size_t i = 0; i < value.size(); ++i) {
      if (!std::isfinite(value.data()[i])) {
        return Error(absl::StrFormat(
            "%s, weight '%s': expected (finite numbers), got (%f at flat index %d): the model "
            "diverged before it was saved, or the file is damaged",
            where, path, static_cast<double>(value.data()[i]), i));
      }
    }
    return value;
  }

  absl::StatusOr<Json> JsonAttribute(hid_t object, const char* name) const {
    absl::StatusOr<std::string> text = String(object, "root", name);
    if (!text.ok()) return text.status();
    if (absl::Status status = io::CheckJsonNesting(*text); !status.ok()) {
      return Error(absl::StrFormat("attribute '%s': %s", name, status.message()));
    }
    Json parsed = Json::parse(*text, nullptr, /*allow_exceptions=*/false);
    if (parsed.is_discarded()) {
      return Error(
          absl::StrFormat("attribute '%s': expected (JSON), got (%s)", name, text->substr(0, 60)));
    }
    return parsed;
  }

  Hid OpenGroup(hid_t parent, const char* name) const {
    Hid group(H5Gopen2(parent, name, H5P_DEFAULT), H5Gclose);
    if (!group.ok()) H5Eclear2(H5E_DEFAULT);
    return group;
  }

 private:
  std::string path_;
  size_t file_bytes_ = 0;
  Hid file_;
};

// The number of weight values stored under `group` (Keras' layout), each dataset checked to hold
// what it declares: the most a model rebuilt from the file's config may create.
absl::StatusOr<size_t> StoredWeightValues(const Reader& reader, hid_t group) {
  absl::StatusOr<std::vector<std::string>> layer_names =
      reader.StringList(group, "model weights", "layer_names");
  if (!layer_names.ok()) return layer_names.status();
  size_t total = 0;
  for (const std::string& name : *layer_names) {
    Hid layer_group = reader.OpenGroup(group, name.c_str());
    if (!layer_group.ok()) {
      return reader.Error(absl::StrFormat(
          "layer '%s' is listed in layer_names: expected (its group), got (nothing)", name));
    }
    const std::string where = absl::StrFormat("layer '%s'", name);
    absl::StatusOr<std::vector<std::string>> weights =
        reader.StringList(layer_group.get(), where, "weight_names");
    if (!weights.ok()) return weights.status();
    for (const std::string& weight : *weights) {
      absl::StatusOr<size_t> values = reader.StoredValues(layer_group.get(), where, weight);
      if (!values.ok()) return values.status();
      total += *values;
    }
  }
  // A dataset listed twice (or linked under two names) is stored once: every value takes at
  // least a byte of the file.
  return std::min(total, reader.file_bytes());
}

// Reads the weights of every layer of `model` from `group` (Keras' layout), checking the layers
// with weights (count, names, order) and every shape; sets nothing unless all of it is right.
absl::Status ReadWeights(const Reader& reader, hid_t group, Model& model) {
  absl::StatusOr<std::vector<std::string>> file_layers =
      reader.StringList(group, "model weights", "layer_names");
  if (!file_layers.ok()) return file_layers.status();
  // As Keras: only layers that have weights are matched.
  std::vector<std::string> file_names;
  std::vector<std::vector<std::string>> file_weights;
  for (const std::string& name : *file_layers) {
    Hid layer_group = reader.OpenGroup(group, name.c_str());
    if (!layer_group.ok()) {
      return reader.Error(absl::StrFormat(
          "layer '%s' is listed in layer_names: expected (its group), got (nothing)", name));
    }
    absl::StatusOr<std::vector<std::string>> weights =
        reader.StringList(layer_group.get(), absl::StrFormat("layer '%s'", name), "weight_names");
    if (!weights.ok()) return weights.status();
    if (weights->empty()) continue;
    file_names.push_back(name);
    file_weights.push_back(*weights);
  }
  std::vector<Layer*> layers;
  std::vector<std::string> names;
  for (const LayerPtr& layer : model.layers()) {
    if (layer->weights().empty()) continue;
    layers.push_back(layer.get());
    names.push_back(layer->name());
  }
  if (names != file_names) {
    return reader.Error(absl::StrFormat(
        "the layers with weights do not match model '%s': expected (%d: %s), got (%d: %s)",
        model.name(), names.size(), absl::StrJoin(names, ", "), file_names.size(),
        absl::StrJoin(file_names, ", ")));
  }
  std::vector<std::vector<Array>> values(layers.size());
  for (size_t i = 0; i < layers.size(); ++i) {
    const std::string where = absl::StrFormat("layer '%s' (%s)", names[i], layers[i]->type());
    const std::vector<Weight> weights = layers[i]->weights();
    if (file_weights[i].size() != weights.size()) {
      return reader.Error(absl::StrFormat("%s: expected (%d weights), got (%d: %s)", where,
                                          weights.size(), file_weights[i].size(),
                                          absl::StrJoin(file_weights[i], ", ")));
    }
    Hid layer_group = reader.OpenGroup(group, names[i].c_str());
    for (size_t w = 0; w < weights.size(); ++w) {
      absl::StatusOr<Array> value =
          reader.ReadArray(layer_group.get(), where, file_weights[i][w], weights[w].tensor.shape());
      if (!value.ok()) return value.status();
      values[i].push_back(*std::move(value));
    }
  }
  for (size_t i = 0; i < layers.size(); ++i) {
    if (absl::Status status = layers[i]->SetWeights(values[i]); !status.ok()) return status;
  }
  return absl::OkStatus();
}

absl::Status ReadOptimizer(const Reader& reader, Model& model) {
  Hid group = reader.OpenGroup(reader.file(), "optimizer_weights");
  if (!group.ok()) return absl::OkStatus();  // saved without its optimizer: it starts afresh
  const std::vector<Tensor> parameters = model.Parameters();
  autograd::OptimizerState state = model.optimizer()->GetState(parameters);  // the expected form
  const std::vector<std::string> expected = OptimizerWeightNames(model, state);
  absl::StatusOr<std::vector<std::string>> names =
      reader.StringList(group.get(), "optimizer_weights", "weight_names");
  if (!names.ok()) return names.status();
  // As Keras, matched by order; the count tells another optimizer or model apart.
  if (names->size() != expected.size()) {
    return reader.Error(absl::StrFormat(
        "optimizer_weights: expected (%d arrays for %s: %s, ...), got (%d: %s)", expected.size(),
        model.optimizer()->name(), expected[0], names->size(),
        absl::StrJoin(names->begin(), names->begin() + std::min<size_t>(names->size(), 3), ", ")));
  }
  if (absl::Status status = reader.Dataset(group.get(), "optimizer_weights", (*names)[0], {},
                                           H5T_INTEGER, H5T_NATIVE_INT64, &state.iterations);
      !status.ok()) {
    return status;
  }
  size_t next = 1;
  for (std::vector<Array>& slot : state.slots) {
    for (Array& value : slot) {
      absl::StatusOr<Array> read = reader.ReadArray(group.get(), "optimizer_weights",
                                                    (*names)[next++], autograd::ShapeOf(value));
      if (!read.ok()) return read.status();
      value = *std::move(read);
    }
  }
  if (absl::Status status = model.optimizer()->SetState(parameters, state); !status.ok()) {
    return reader.Error(std::string(status.message()));
  }
  return absl::OkStatus();
}

absl::Status ReadTrainingState(const Reader& reader, Model& model) {
  Hid group = reader.OpenGroup(reader.file(), "training_state");
  if (!group.ok()) return absl::OkStatus();  // a file from Keras
  Model::TrainingState state;
  absl::StatusOr<std::string> rng = reader.String(group.get(), "training_state", "rng");
  if (!rng.ok()) return rng.status();
  state.rng = *rng;
  absl::StatusOr<int64_t> epochs = reader.Int64(group.get(), "training_state", "epochs");
  if (!epochs.ok()) return epochs.status();
  state.epochs = *epochs;
  absl::StatusOr<size_t> count = reader.StoredValues(group.get(), "training_state", "order");
  if (!count.ok()) return count.status();
  if (*count > reader.file_bytes() / sizeof(uint64_t)) {
    return reader.Error("training_state, weight 'order': expected (at most one index per 8 bytes "
                        "of the file), got (more): the file is damaged");
  }
  state.order.resize(*count);
  if (absl::Status status =
          reader.Dataset(group.get(), "training_state", "order", {*count},
                         H5T_INTEGER, H5T_NATIVE_UINT64, state.order.data());
      !status.ok()) {
    return status;
  }
  if (absl::Status status = model.SetTrainingState(state); !status.ok()) {
    return reader.Error(std::string(status.message()));
  }
  return absl::OkStatus();
}

// Keras' training_config -> Compile.
absl::Status CompileFromConfig(const Reader& reader, const Json& training, Model& model) {
  ConfigReader config(training, absl::StrFormat("'%s': training_config", reader.path()));
  // One loss name for every output, or a list of one per output (several outputs).
  std::vector<std::string> losses;
  const Json& loss = training.is_object() && training.contains("loss") ? training["loss"] : Json();
  if (loss.is_array()) {
    config.Ignore("loss");
    for (const Json& name : loss) {
      if (!name.is_string() || loss.size() > kMaxGraphNodes) {
        config.Fail("loss", absl::StrFormat("expected (a loss name, or a list of one per output), "
                                            "got (%s)",
                                            Quote(loss)));
        break;
      }
      losses.push_back(name.get<std::string>());
    }
  } else {
    losses.push_back(config.String("loss", ""));
  }
  // Null (every output weighs 1) or one number per output.
  std::vector<double> loss_weights;
  const Json& weights = training.is_object() && training.contains("loss_weights")
                            ? training["loss_weights"]
                            : Json();
  if (weights.is_array()) {
    config.Ignore("loss_weights");
    for (const Json& weight : weights) {
      if (!weight.is_number() || weights.size() > kMaxGraphNodes) {
        config.Fail("loss_weights",
                    absl::StrFormat("expected (null, or a list of one number per output), got (%s)",
                                    Quote(weights)));
        break;
      }
      loss_weights.push_back(weight.get<double>());
    }
  }
  std::vector<std::string> metrics;
  const Json& listed =
      training.is_object() && training.contains("metrics") ? training["metrics"] : Json::array();
  config.Ignore("metrics");
  // Keras writes ["acc"], or [["acc"]] (one list per output).
  const Json& flat =
      listed.is_array() && listed.size() == 1 && listed[0].is_array() ? listed[0] : listed;
  for (const Json& metric : flat.is_array() ? flat : Json::array({flat})) {
    if (!metric.is_string()) {
      config.Fail("metrics", absl::StrFormat("expected (metric names), got (%s)", Quote(metric)));
      break;
    }
    metrics.push_back(metric.get<std::string>());
  }
  config.OnlyNull({"weighted_metrics", "sample_weight_mode"});
  if (!weights.is_array()) config.OnlyNull({"loss_weights"});
  const Json& optimizer_config = config.Object("optimizer_config");
  if (absl::Status status = config.Finish(); !status.ok()) return status;
  absl::StatusOr<std::unique_ptr<autograd::Optimizer>> optimizer =
      OptimizerFromConfig(optimizer_config);
  if (!optimizer.ok())
    return reader.Error("training_config: " + std::string(optimizer.status().message()));
  const absl::Status status =
      losses.size() == 1 ? model.Compile(losses[0], *std::move(optimizer), metrics, loss_weights)
                         : model.Compile(losses, *std::move(optimizer), metrics, loss_weights);
  if (!status.ok()) {
    return reader.Error("training_config: " + std::string(status.message()));
  }
  return absl::OkStatus();
}

// Model_config -> the layers of a new Sequential.
absl::StatusOr<std::unique_ptr<Model>> FunctionalFromConfig(const Reader& reader,
                                                            const Json& model_config);

absl::StatusOr<std::unique_ptr<Model>> ModelFromConfig(const Reader& reader,
                                                       const Json& model_config) {
  if (model_config.is_object() && (model_config.value("class_name", Json()) == "Functional" ||
                                   model_config.value("class_name", Json()) == "Model")) {
    return FunctionalFromConfig(reader, model_config);
  }
  if (!model_config.is_object() || model_config.value("class_name", Json()) != "Sequential" ||
      !model_config.contains("config") || !model_config["config"].is_object()) {
    return reader.Error(absl::StrFormat(
        "model_config: expected ({\"class_name\": \"Sequential\", \"config\": {...}}), got (%s)",
        Quote(model_config)));
  }
  const Json& config = model_config["config"];
  const Json name = config.value("name", Json("sequential"));
  const Json layers = config.value("layers", Json());
  if (!name.is_string() || !layers.is_array() || layers.empty()) {
    return reader.Error("model_config: expected (a name and a non-empty list of layers), got (" +
                        Quote(config) + ")");
  }
  auto model = std::make_unique<Sequential>(/*seed=*/0, name.get<std::string>());
  Shape input_shape;
  for (size_t i = 0; i < layers.size(); ++i) {
    const std::string where = absl::StrFormat("'%s': model_config, layer %d", reader.path(), i);
    if (layers[i].is_object() && layers[i].value("class_name", Json()) == "InputLayer") {
      // tf.keras 2.4+ writes the input shape as a layer of its own.
      const Json shape = layers[i].contains("config") && layers[i]["config"].is_object()
                             ? layers[i]["config"].value("batch_input_shape", Json())
                             : Json();
      absl::StatusOr<Shape> parsed = BatchInputShape(shape);
      if (!parsed.ok()) {
        return absl::InvalidArgumentError(absl::StrFormat("%s (InputLayer), batch_input_shape: %s",
                                                          where, parsed.status().message()));
      }
      input_shape = *parsed;
      continue;
    }
    absl::StatusOr<LayerFromFile> layer = LayerFromConfig(layers[i], where);
    if (!layer.ok()) return layer.status();
    if (!layer->input_shape.empty() && model->layers().empty()) input_shape = layer->input_shape;
    model->Add(std::move(layer->layer), model->layers().empty() ? input_shape : Shape{});
    if (!layer->name.empty()) model->layer(model->layers().size() - 1).set_name(layer->name);
  }
  return std::unique_ptr<Model>(std::move(model));
}

// ---- Functional models: tf.keras 2.11's graph config ------------------------------------------
//
// From keras-team/keras at tag v2.11.0:
//   keras/engine/functional.py  get_network_config (1524-1606): config {name, layers,
//       input_layers, output_layers}; each layer entry is serialize_keras_object(layer) plus
//       "name" and "inbound_nodes", its calls that belong to this model; an InputLayer's own node
//       (is_input) is left out, so its inbound_nodes is []. A node's index in the file is its
//       position among the layer's calls that belong to this model (node_conversion_map), so a
//       layer shared with another model is numbered from 0 in each file.
//       reconstruct_from_config (1286-1521): creates every layer first, then calls each layer on
//       its inbound nodes, a layer's nodes in order, as soon as their inputs exist (so an entry
//       may name a layer listed after it).
//   keras/engine/node.py  Node.serialize (184-258): each tensor the layer was called on is
//       [layer, node_index, tensor_index, kwargs]; kwargs are the call's other arguments.
//   keras/engine/base_layer.py  _functional_construction_call (2460-2556): a mask and a training
//       flag passed by the framework are removed before the node is made: kwargs are {}.
//   keras/layers/rnn/base_rnn.py  RNN.__call__ (550-620): Keras tensors given as initial_state
//       are called on as [inputs] + initial_state: extra inbound tensors of the node, kwargs {}.
//   keras/layers/rnn/bidirectional.py  Bidirectional.__call__ (265-350): the same list, with
//       kwargs {"initial_state": None, "constants": None} left in the call.
//   keras/layers/attention/base_dense_attention.py  BaseDenseAttention.call: the arguments
//       return_attention_scores and use_causal_mask, when passed, are the kwargs of every tensor
//       of the node (this library writes those set to true; it reads both, and a layer's nodes
//       must agree, as they are options of the layer here).
//   keras/engine/input_layer.py  InputLayer.get_config (270-281): batch_input_shape (None where
//       the length varies), dtype, sparse, ragged, name.
//   keras/saving/legacy/serialization.py  SharedObjectSavingScope and SharedObjectConfig
//       (147-242), serialize_keras_class_and_config (245-271): inside get_network_config's
//       scope every object serialized with get_config (a layer, a recurrent layer's cell, an
//       initializer) is numbered 0, 1, 2, ... in the order it is serialized, and the number is
//       written as "shared_object_id" (after class_name and config) only when the same object is
//       serialized a second time. Sequential.get_config (keras/engine/sequential.py 451-464)
//       opens no scope: Sequential files have none.

// Keras' shared_object_id numbering for one layer entry (see above), in the order tf.keras
// 2.11's get_config methods serialize: a wrapper's layer (rnn/base_wrapper.py 60-63), then the
// wrapper; a recurrent layer's kernel, recurrent and bias initializers (rnn/lstm.py 849-887,
// rnn/gru.py 766-804, rnn/simple_rnn.py 470-503), then its cell, whose get_config
// (lstm.py 338-372, ...) serializes the same three initializer objects again (LSTM's
// kernel_initializer is its cell's, lstm.py 798-799): so those three carry the key; then the
// layer. Dense and Conv1D serialize kernel then bias initializer (core/dense.py 273-301,
// convolutional/base_conv.py 359-385), Embedding its embeddings_initializer
// (core/embedding.py 218-238), each once: no key. Activations (functions, serialized by name),
// None regularizers and the float32 dtype policy take no number.
void NumberSharedObjects(Json& entry, int64_t& next_id) {
  const std::string class_name = entry.value("class_name", "");
  Json& config = entry["config"];
  if (class_name == "TimeDistributed" || class_name == "Bidirectional") {
    NumberSharedObjects(config["layer"], next_id);
  } else if (class_name == "LSTM" || class_name == "GRU" || class_name == "SimpleRNN") {
    for (const char* key : {"kernel_initializer", "recurrent_initializer", "bias_initializer"}) {
      config[key]["shared_object_id"] = next_id++;
    }
    ++next_id;  // the cell
  } else if (class_name == "Dense" || class_name == "Conv1D") {
    next_id += 2;  // kernel and bias initializers
  } else if (class_name == "Embedding") {
    next_id += 1;  // embeddings_initializer
  }
  ++next_id;  // the layer
}

absl::StatusOr<Json> FunctionalConfig(const Model& model) {
  // Each layer's calls in this model, in call order: a node's index in the file is its position.
  std::unordered_map<const Layer*, std::vector<const Node*>> calls;
  for (const std::shared_ptr<Node>& node : model.nodes()) {
    calls[node->layer.get()].push_back(node.get());
  }
  std::unordered_map<const Node*, size_t> file_index;
  for (auto& [layer, nodes] : calls) {
    std::sort(nodes.begin(), nodes.end(),
              [](const Node* a, const Node* b) { return a->call_index < b->call_index; });
    for (size_t i = 0; i < nodes.size(); ++i) file_index[nodes[i]] = i;
  }
  const auto reference = [&](const KerasTensor& tensor) {
    return Json::array(
        {tensor.node()->layer->name(), file_index.at(tensor.node().get()), tensor.index()});
  };
  Json layers = Json::array();
  int64_t next_id = 0;
  for (const LayerPtr& layer : model.layers()) {
    if (dynamic_cast<const Model*>(layer.get()) != nullptr) {
      return absl::UnimplementedError(absl::StrFormat(
          "model '%s': layer '%s' is a model inside this model, and saving a model nested in "
          "another is not implemented: save the inner model on its own, or build this model "
          "from the inner model's layers",
          model.name(), layer->name()));
    }
    const bool input = dynamic_cast<const InputLayer*>(layer.get()) != nullptr;
    Json entry;
    if (input) {
      Json config = Json::object();
      layer->GetConfig(config);
      config["name"] = layer->name();
      entry = Json{{"class_name", "InputLayer"}, {"config", config}};
    } else {
      entry = LayerToConfig(*layer);
    }
    NumberSharedObjects(entry, next_id);
    entry["name"] = layer->name();
    Json inbound = Json::array();
    for (const Node* node : input ? std::vector<const Node*>() : calls.at(layer.get())) {
      const auto* attention = dynamic_cast<const BaseDenseAttentionLayer*>(layer.get());
      const Json kwargs = node->state_inputs > 0 && layer->type() == "Bidirectional"
                              ? Json{{"initial_state", nullptr}, {"constants", nullptr}}
                          : attention != nullptr ? attention->CallArguments()
                                                 : Json::object();
      Json tensors = Json::array();
      for (const KerasTensor& tensor : node->inputs) {
        Json data = reference(tensor);
        data.push_back(kwargs);
        tensors.push_back(std::move(data));
      }
      inbound.push_back(std::move(tensors));
    }
    entry["inbound_nodes"] = std::move(inbound);
    layers.push_back(std::move(entry));
  }
  Json inputs = Json::array(), outputs = Json::array();
  for (const KerasTensor& tensor : model.inputs()) inputs.push_back(reference(tensor));
  for (const KerasTensor& tensor : model.outputs()) outputs.push_back(reference(tensor));
  return Json{{"class_name", "Functional"},
              {"config", Json{{"name", model.name()},
                              {"layers", std::move(layers)},
                              {"input_layers", std::move(inputs)},
                              {"output_layers", std::move(outputs)}}}};
}

// An InputLayer's batch_input_shape: [null, n or null, ...], null where the length varies.
absl::StatusOr<Shape> InputShape(const Json& shape) {
  Shape result;
  bool valid = shape.is_array() && shape.size() >= 2 && shape.size() <= 9 && shape[0].is_null();
  for (size_t i = 1; valid && i < shape.size(); ++i) {
    if (shape[i].is_null()) {
      result.push_back(kVaries);
      continue;
    }
    valid = shape[i].is_number_integer() && shape[i].get<int64_t>() > 0 &&
            shape[i].get<uint64_t>() <= kMaxLayerSize;
    if (valid) result.push_back(shape[i].get<size_t>());
  }
  if (!valid) {
    return absl::InvalidArgumentError(absl::StrFormat(
        "expected ([null, n, ...] with 1 to 8 axes, each n null or in [1, %d]), got (%s)",
        kMaxLayerSize, Quote(shape)));
  }
  return result;
}

// One tensor reference [layer, node_index, tensor_index(, kwargs)] of a model file's graph.
struct TensorReference {
  std::string layer;
  size_t node = 0, tensor = 0;
  Json arguments = Json::object();  // the call's keyword arguments, where the layer reads them
};

// `what` names the reference in errors; `kwargs` whether a fourth element may follow (inbound
// nodes: yes; input_layers and output_layers: no), and which of its keys may be there (null);
// `layer_kwargs`: the layer reads them itself (attention), so they are kept, unchecked.
absl::StatusOr<TensorReference> ParseReference(const Json& data, const std::string& what,
                                               bool kwargs, bool state_kwargs,
                                               bool layer_kwargs = false) {
  const bool shaped = data.is_array() && (data.size() == 3 || (kwargs && data.size() == 4)) &&
                      data[0].is_string() && data[1].is_number_integer() &&
                      data[1].get<int64_t>() >= 0 && data[2].is_number_integer() &&
                      data[2].get<int64_t>() >= 0;
  if (!shaped) {
    return absl::InvalidArgumentError(absl::StrFormat(
        "%s: expected ([layer name, node index, tensor index%s]), got (%s)", what,
        kwargs ? ", {}" : "", Quote(data)));
  }
  if (data.size() == 4) {
    const Json& arguments = data[3];
    if (!arguments.is_object()) {
      return absl::InvalidArgumentError(absl::StrFormat(
          "%s: expected (the call's keyword arguments: {}), got (%s)", what, Quote(arguments)));
    }
    if (layer_kwargs) {
      return TensorReference{data[0].get<std::string>(), data[1].get<size_t>(),
                             data[2].get<size_t>(), arguments};
    }
    for (const auto& [key, value] : arguments.items()) {
      // Bidirectional.__call__ leaves these two, None, in the call (see above).
      if (state_kwargs && (key == "initial_state" || key == "constants") && value.is_null()) {
        continue;
      }
      return absl::InvalidArgumentError(absl::StrFormat(
          "%s: the call's keyword argument '%s' (value %s) is not one this library reads: "
          "expected ({}%s)",
          what, key, Quote(value),
          state_kwargs ? ", or initial_state and constants null" : ""));
    }
  }
  return TensorReference{data[0].get<std::string>(), data[1].get<size_t>(),
                         data[2].get<size_t>()};
}

// Keras' reconstruct_from_config: a Functional model_config -> the graph, built as the file's
// weights allow (the caller holds the WeightsFromFile guard: layers are built here, on their
// first call).
absl::StatusOr<std::unique_ptr<Model>> FunctionalFromConfig(const Reader& reader,
                                                            const Json& model_config) {
  const std::string model_where = absl::StrFormat(
      "'%s': model_config (%s)", reader.path(), model_config["class_name"].get<std::string>());
  for (const auto& [key, value] : model_config.items()) {
    if (key != "class_name" && key != "config") {
      return absl::InvalidArgumentError(absl::StrFormat(
          "%s: key '%s' (value %s) is not one this library reads", model_where, key,
          Quote(value)));
    }
  }
  const Json empty_object = Json::object(), empty_array = Json::array();
  const Json& config = model_config.contains("config") ? model_config["config"] : empty_object;
  ConfigReader top(config, model_where);
  const std::string name = top.String("name", "model");
  for (const char* key : {"layers", "input_layers", "output_layers"}) {
    top.Ignore(key);
    if (top.ok() && (!config.contains(key) || !config[key].is_array())) {
      top.Fail(key, config.contains(key) ? "expected a list, got " + Quote(config[key])
                                         : "missing (a list is required)");
    }
  }
  if (absl::Status status = top.Finish(); !status.ok()) return status;
  const Json& entries = config["layers"];
  if (entries.empty() || entries.size() > kMaxGraphNodes) {
    return absl::InvalidArgumentError(absl::StrFormat(
        "%s, config key 'layers': expected (1 to %d layers), got (%d)", model_where,
        kMaxGraphNodes, entries.size()));
  }

  // First every layer, with its inbound nodes parsed (as Keras: an entry may name a layer that
  // comes later in the list).
  struct FileLayer {
    std::string where;  // "'m.h5': model_config, layer 2 'dense' (Dense)"
    LayerPtr layer;
    bool input = false;
    bool takes_state = false;  // a recurrent layer or Bidirectional: extra tensors are its state
    std::vector<std::vector<TensorReference>> nodes;
    std::vector<KerasTensors> outputs;  // per node, once called
  };
  std::vector<FileLayer> layers(entries.size());
  std::map<std::string, size_t> by_name;
  size_t total_nodes = 0;
  for (size_t i = 0; i < entries.size(); ++i) {
    const Json& entry = entries[i];
    const std::string where = absl::StrFormat("'%s': model_config, layer %d", reader.path(), i);
    if (!entry.is_object() || !entry.contains("class_name") || !entry["class_name"].is_string() ||
        !entry.contains("config") || !entry["config"].is_object() || !entry.contains("name") ||
        !entry["name"].is_string() || entry["name"].get<std::string>().empty() ||
        !entry.contains("inbound_nodes") || !entry["inbound_nodes"].is_array()) {
      return absl::InvalidArgumentError(absl::StrFormat(
          "%s: expected ({\"class_name\": ..., \"config\": {...}, \"name\": \"...\", "
          "\"inbound_nodes\": [...]}), got (%s)",
          where, Quote(entry)));
    }
    const std::string class_name = entry["class_name"].get<std::string>();
    const std::string layer_name = entry["name"].get<std::string>();
    FileLayer& file_layer = layers[i];
    file_layer.where = absl::StrFormat("%s '%s' (%s)", where, layer_name, class_name);
    for (const auto& [key, value] : entry.items()) {
      if (key != "class_name" && key != "config" && key != "name" && key != "inbound_nodes") {
        return absl::InvalidArgumentError(
            absl::StrFormat("%s: key '%s' (value %s) is not one this library reads",
                            file_layer.where, key, Quote(value)));
      }
    }
    const Json& layer_config = entry["config"];
    if (layer_config.value("name", Json(layer_name)) != Json(layer_name)) {
      return absl::InvalidArgumentError(absl::StrFormat(
          "%s: expected (its config's name to be its name), got (config name %s)",
          file_layer.where, Quote(layer_config["name"])));
    }
    if (!by_name.emplace(layer_name, i).second) {
      return absl::InvalidArgumentError(absl::StrFormat(
          "%s: the name '%s' is also the name of layer %d: layer names must be unique",
          file_layer.where, layer_name, by_name[layer_name]));
    }
    if (class_name == "Functional" || class_name == "Model" || class_name == "Sequential") {
      return absl::UnimplementedError(absl::StrFormat(
          "%s: a model nested inside this model is not implemented: build the model from the "
          "inner model's layers",
          file_layer.where));
    }
    const Json& inbound = entry["inbound_nodes"];
    if (class_name == "InputLayer") {
      ConfigReader input_config(layer_config, file_layer.where);
      input_config.String("name", layer_name);
      input_config.Ignore("batch_input_shape");
      input_config.Only("dtype", "float32");
      input_config.Only("sparse", false);
      input_config.Only("ragged", false);
      absl::StatusOr<Shape> shape = InputShape(layer_config.value("batch_input_shape", Json()));
      if (!shape.ok()) {
        input_config.Fail("batch_input_shape", std::string(shape.status().message()));
      }
      if (absl::Status status = input_config.Finish(); !status.ok()) return status;
      if (!inbound.empty()) {
        return absl::InvalidArgumentError(absl::StrFormat(
            "%s: expected (no inbound nodes: an input is called on nothing), got (%s)",
            file_layer.where, Quote(inbound)));
      }
      KerasTensor tensor = Input(*shape, layer_name);
      if (absl::Status status = tensor.status(); !status.ok()) {
        return absl::InvalidArgumentError(
            absl::StrFormat("%s: %s", file_layer.where, status.message()));
      }
      file_layer.layer = tensor.node()->layer;
      file_layer.input = true;
      file_layer.outputs.push_back(KerasTensors{tensor});
      total_nodes += 1;
      continue;
    }
    absl::StatusOr<LayerFromFile> made = LayerFromConfig(entry, where);
    if (!made.ok()) return made.status();
    file_layer.layer = made->layer;
    file_layer.layer->set_name(layer_name);
    file_layer.takes_state = dynamic_cast<const RecurrentLayer*>(made->layer.get()) != nullptr ||
                             dynamic_cast<const BidirectionalLayer*>(made->layer.get()) != nullptr;
    total_nodes += inbound.size();
    if (total_nodes > kMaxGraphNodes) {
      return absl::InvalidArgumentError(absl::StrFormat(
          "%s: the layers' inbound nodes add up to more than the %d layer calls this library "
          "reads",
          file_layer.where, kMaxGraphNodes));
    }
    if (inbound.empty()) {
      return absl::InvalidArgumentError(absl::StrFormat(
          "%s: expected (at least one inbound node: the tensors it is called on), got (none)",
          file_layer.where));
    }
    auto* attention = dynamic_cast<BaseDenseAttentionLayer*>(made->layer.get());
    std::optional<Json> layer_arguments;  // the first node's (attention)
    for (size_t k = 0; k < inbound.size(); ++k) {
      const Json& node = inbound[k];
      if (!node.is_array() || node.empty() || node.size() > kMaxNodeTensors) {
        return absl::InvalidArgumentError(absl::StrFormat(
            "%s, inbound node %d: expected (a list of 1 to %d tensors), got (%s)",
            file_layer.where, k, kMaxNodeTensors, Quote(node)));
      }
      std::vector<TensorReference> references;
      for (size_t t = 0; t < node.size(); ++t) {
        const std::string what =
            absl::StrFormat("%s, inbound node %d, tensor %d", file_layer.where, k, t);
        absl::StatusOr<TensorReference> reference =
            ParseReference(node[t], what, /*kwargs=*/true,
                           /*state_kwargs=*/class_name == "Bidirectional",
                           /*layer_kwargs=*/attention != nullptr);
        if (!reference.ok()) return reference.status();
        if (attention != nullptr) {
          // Options of the layer here: every call must bring the same (absent means false).
          Json arguments = Json::object();
          for (const auto& [key, value] : reference->arguments.items()) {
            if (value != Json(false)) arguments[key] = value;
          }
          if (layer_arguments && arguments != *layer_arguments) {
            return absl::UnimplementedError(absl::StrFormat(
                "%s: the call's keyword arguments %s differ from its first call's %s: this "
                "library keeps them as options of the layer, the same for every call",
                what, Quote(arguments), Quote(*layer_arguments)));
          }
          layer_arguments = arguments;
          if (absl::Status status = attention->SetCallArguments(reference->arguments);
              !status.ok()) {
            return absl::InvalidArgumentError(absl::StrFormat("%s: %s", what, status.message()));
          }
        }
        references.push_back(*std::move(reference));
      }
      file_layer.nodes.push_back(std::move(references));
    }
  }

  // Every reference must name a layer of the file and one of its nodes.
  const auto resolve = [&](const TensorReference& reference,
                           const std::string& what) -> absl::StatusOr<size_t> {
    auto it = by_name.find(reference.layer);
    if (it == by_name.end()) {
      return absl::InvalidArgumentError(absl::StrFormat(
          "%s: it names layer '%s', which the model_config does not have", what,
          reference.layer));
    }
    const FileLayer& from = layers[it->second];
    const size_t count = from.input ? 1 : from.nodes.size();
    if (reference.node >= count) {
      return absl::InvalidArgumentError(absl::StrFormat(
          "%s: it names node %d of layer '%s', which has %d (indices from 0)", what,
          reference.node, reference.layer, count));
    }
    return it->second;
  };
  // The nodes in an order where each comes after the nodes it takes tensors from and after the
  // layer's earlier nodes (Keras keeps each layer's node order): Kahn's algorithm, so a cycle
  // is found without recursion.
  std::vector<std::vector<size_t>> first_node(layers.size());  // (layer, node) -> one number
  std::vector<std::pair<size_t, size_t>> node_of;
  for (size_t i = 0; i < layers.size(); ++i) {
    for (size_t k = 0; k < layers[i].nodes.size(); ++k) {
      first_node[i].push_back(node_of.size());
      node_of.emplace_back(i, k);
    }
  }
  std::vector<size_t> waiting(node_of.size(), 0);
  std::vector<std::vector<size_t>> unblocks(node_of.size());
  std::vector<std::vector<size_t>> sources(node_of.size());  // the referenced file layers
  for (size_t n = 0; n < node_of.size(); ++n) {
    const auto [i, k] = node_of[n];
    if (k > 0) {
      ++waiting[n];
      unblocks[first_node[i][k - 1]].push_back(n);
    }
    for (size_t t = 0; t < layers[i].nodes[k].size(); ++t) {
      const TensorReference& reference = layers[i].nodes[k][t];
      absl::StatusOr<size_t> from =
          resolve(reference, absl::StrFormat("%s, inbound node %d, tensor %d", layers[i].where, k, t));
      if (!from.ok()) return from.status();
      sources[n].push_back(*from);
      if (layers[*from].input) continue;
      ++waiting[n];
      unblocks[first_node[*from][reference.node]].push_back(n);
    }
  }
  std::deque<size_t> ready;
  for (size_t n = 0; n < node_of.size(); ++n) {
    if (waiting[n] == 0) ready.push_back(n);
  }
  size_t called = 0;
  while (!ready.empty()) {
    const size_t n = ready.front();
    ready.pop_front();
    const auto [i, k] = node_of[n];
    FileLayer& file_layer = layers[i];
    std::vector<KerasTensor> tensors;
    for (size_t t = 0; t < file_layer.nodes[k].size(); ++t) {
      const TensorReference& reference = file_layer.nodes[k][t];
      const KerasTensors& from = layers[sources[n][t]].outputs[reference.node];
      if (reference.tensor >= from.size()) {
        return absl::InvalidArgumentError(absl::StrFormat(
            "%s, inbound node %d, tensor %d: it names tensor %d of node %d of layer '%s', which "
            "gives %d (indices from 0)",
            file_layer.where, k, t, reference.tensor, reference.node, reference.layer,
            from.size()));
      }
      tensors.push_back(from[reference.tensor]);
    }
    const std::vector<KerasTensor> state =
        file_layer.takes_state ? std::vector<KerasTensor>(tensors.begin() + 1, tensors.end())
                               : std::vector<KerasTensor>();
    if (file_layer.takes_state) tensors.resize(1);
    KerasTensors outputs = CallLayer(file_layer.layer, tensors, state);
    if (absl::Status status = outputs.front().status(); !status.ok()) {
      return absl::Status(status.code(), absl::StrFormat("%s, inbound node %d: %s",
                                                         file_layer.where, k, status.message()));
    }
    file_layer.outputs.push_back(std::move(outputs));
    ++called;
    for (size_t next : unblocks[n]) {
      if (--waiting[next] == 0) ready.push_back(next);
    }
  }
  if (called != node_of.size()) {
    std::vector<std::string> stuck;
    for (size_t n = 0; n < node_of.size() && stuck.size() < 5; ++n) {
      if (waiting[n] > 0) {
        stuck.push_back(absl::StrFormat("'%s' (node %d)", layers[node_of[n].first].layer->name(),
                                        node_of[n].second));
      }
    }
    return absl::InvalidArgumentError(absl::StrFormat(
        "%s: the inbound nodes of %d layer calls wait on each other in a cycle, and none can be "
        "computed: %s%s",
        model_where, node_of.size() - called, absl::StrJoin(stuck, ", "),
        node_of.size() - called > stuck.size() ? ", ..." : ""));
  }

  // The model's inputs (InputLayers) and outputs.
  std::vector<KerasTensor> inputs, outputs;
  for (const char* key : {"input_layers", "output_layers"}) {
    const bool input = std::string(key) == "input_layers";
    // A single reference [name, 0, 0] is also how some versions write one input or output.
    Json list = config[key];
    if (!list.empty() && list[0].is_string()) list = Json::array({list});
    if (list.empty() || list.size() > kMaxGraphNodes) {
      return absl::InvalidArgumentError(absl::StrFormat(
          "%s, config key '%s': expected (1 to %d tensors), got (%d)", model_where, key,
          kMaxGraphNodes, list.size()));
    }
    for (size_t t = 0; t < list.size(); ++t) {
      const std::string what = absl::StrFormat("%s, config key '%s', tensor %d", model_where, key, t);
      absl::StatusOr<TensorReference> reference = ParseReference(list[t], what, false, false);
      if (!reference.ok()) return reference.status();
      absl::StatusOr<size_t> from = resolve(*reference, what);
      if (!from.ok()) return from.status();
      if (input && !layers[*from].input) {
        return absl::InvalidArgumentError(absl::StrFormat(
            "%s: expected (an InputLayer), got (layer '%s' (%s))", what, reference->layer,
            layers[*from].layer->type()));
      }
      const KerasTensors& given = layers[*from].outputs[reference->node];
      if (reference->tensor >= given.size()) {
        return absl::InvalidArgumentError(absl::StrFormat(
            "%s: it names tensor %d of node %d of layer '%s', which gives %d (indices from 0)",
            what, reference->tensor, reference->node, reference->layer, given.size()));
      }
      (input ? inputs : outputs).push_back(given[reference->tensor]);
    }
  }
  auto model = std::make_unique<Model>(inputs, outputs, /*seed=*/0, name);
  if (!model->status().ok()) {
    return absl::Status(model->status().code(),
                        absl::StrFormat("'%s': %s", reader.path(), model->status().message()));
  }
  // Keras keeps layers that no output needs (connect_ancillary_layers); they would have no place
  // in this model's weights.
  std::set<const Layer*> used;
  for (const LayerPtr& layer : model->layers()) used.insert(layer.get());
  for (const FileLayer& file_layer : layers) {
    if (used.count(file_layer.layer.get()) == 0) {
      return absl::InvalidArgumentError(absl::StrFormat(
          "%s: no output of the model needs it (the outputs are layers %s); this library keeps "
          "only layers between the inputs and the outputs",
          file_layer.where, absl::StrJoin(model->OutputNames(), ", ")));
    }
  }
  return std::unique_ptr<Model>(std::move(model));
}

}  // namespace

absl::Status Model::Save(const std::string& path) const {
  if (!built_) {
    return absl::FailedPreconditionError(absl::StrFormat(
        "cannot save model '%s' to '%s': it has no weights yet (compile or build it first)", name(),
        path));
  }
  if (!is_chief()) return absl::OkStatus();  // rank 0 writes for the whole job
  const TrainingState state = GetTrainingState();
  return SaveFile(path, [&](hid_t file) { return WriteModel(file, *this, state); });
}

absl::Status Model::SaveWeights(const std::string& path) const {
  if (!built_) {
    return absl::FailedPreconditionError(absl::StrFormat(
        "cannot save the weights of model '%s' to '%s': it has none yet (compile or build it "
        "first)",
        name(), path));
  }
  if (!is_chief()) return absl::OkStatus();
  // Keras' save_weights: the weights' layout at the root of the file.
  return SaveFile(path, [&](hid_t file) { return WriteWeights(file, *this); });
}

namespace {

// HDF5 1.10 is not hardened against hostile files: some damaged ones crash its parser (reads out
// of bounds) or make it loop, instead of giving an error. So a file is read first in a forked
// child (io::SurvivesInChild); only when the child finished, with the file read or with one of
// our errors, does this process read it (and meet the same result). Costs a second read of the
// file: milliseconds for the experiments' models.
absl::Status ReadInChildFirst(const std::string& path, const std::function<absl::Status()>& read) {
  // One of several processes of an Open MPI job: its transports may forbid fork() (memory
  // registered for RDMA is missing in a child), so the file is read directly.
  if (const char* ranks = std::getenv("OMPI_COMM_WORLD_SIZE"); ranks != nullptr && std::atoi(ranks) > 1) {
    return absl::OkStatus();
  }
  absl::Status status = io::SurvivesInChild([&] { return read().ok(); }, /*seconds=*/120,
                                            absl::StrFormat("HDF5 reading '%s'", path));
  if (status.ok()) return status;
  return absl::DataLossError(absl::StrFormat("'%s': the file is damaged: %s; nothing was loaded",
                                             path, status.message()));
}

absl::Status ReadWeightsFile(const std::string& path, Model& model) {
  Reader reader(path);
  if (absl::Status status = reader.Open(); !status.ok()) return status;
  // A weights file has layer_names at its root; a model file under model_weights.
  if (reader.HasAttribute(reader.file(), "layer_names")) {
    return ReadWeights(reader, reader.file(), model);
  }
  Hid group = reader.OpenGroup(reader.file(), "model_weights");
  if (!group.ok()) {
    return reader.Error(
        "expected (weights: layer_names at the root, or a group model_weights), got (neither)");
  }
  return ReadWeights(reader, group.get(), model);
}

absl::StatusOr<std::unique_ptr<Model>> ReadModelFile(const std::string& path) {
  Reader reader(path);
  if (absl::Status status = reader.Open(); !status.ok()) return status;
  if (!reader.HasAttribute(reader.file(), "model_config")) {
    return reader.Error(
        "expected (a model: the attribute model_config), got (no model_config: a weights file? "
        "build the model and use LoadWeights)");
  }
  absl::StatusOr<Json> model_config = reader.JsonAttribute(reader.file(), "model_config");
  if (!model_config.ok()) return model_config.status();
  Hid weights = reader.OpenGroup(reader.file(), "model_weights");
  if (!weights.ok()) return reader.Error("expected (a group model_weights), got (none)");
  absl::StatusOr<size_t> stored = StoredWeightValues(reader, weights.get());
  if (!stored.ok()) return stored.status();
  absl::StatusOr<std::unique_ptr<Model>> model;
  {
    // The layers are built (weights created) no larger than the file's weights and without
    // random initialisation: the stored values replace them below. A Functional model's layers
    // are built as its graph is made from the config, a Sequential's by Build.
    WeightsFromFile from_file(*stored);
    model = ModelFromConfig(reader, *model_config);
    if (!model.ok()) return model.status();
    if (absl::Status status = (*model)->Build(); !status.ok()) {
      return reader.Error(std::string(status.message()));
    }
  }
  Model& loaded = **model;
  if (reader.HasAttribute(reader.file(), "training_config")) {
    absl::StatusOr<Json> training = reader.JsonAttribute(reader.file(), "training_config");
    if (!training.ok()) return training.status();
    if (absl::Status status = CompileFromConfig(reader, *training, loaded); !status.ok()) {
      return status;
    }
  }
  if (absl::Status status = ReadWeights(reader, weights.get(), loaded); !status.ok()) {
    return status;
  }
  if (loaded.compiled()) {
    if (absl::Status status = ReadOptimizer(reader, loaded); !status.ok()) return status;
  }
  if (absl::Status status = ReadTrainingState(reader, loaded); !status.ok()) return status;
  if (reader.HasAttribute(reader.file(), "preprocessing")) {
    // Checked as JSON here, kept as written (its reader, datasets/preprocessing.h, checks keys).
    absl::StatusOr<Json> preprocessing = reader.JsonAttribute(reader.file(), "preprocessing");
    if (!preprocessing.ok()) return preprocessing.status();
    absl::StatusOr<std::string> text = reader.String(reader.file(), "root", "preprocessing");
    if (!text.ok()) return text.status();
    loaded.set_preprocessing(*text);
  }
  return model;
}

}  // namespace

absl::Status Model::LoadWeights(const std::string& path) {
  if (!built_) {
    if (absl::Status status = Build(); !status.ok()) return status;
  }
  if (absl::Status status = ReadInChildFirst(path, [&] { return ReadWeightsFile(path, *this); });
      !status.ok()) {
    return status;
  }
  return ReadWeightsFile(path, *this);
}

absl::StatusOr<std::unique_ptr<Model>> LoadModel(const std::string& path) {
  if (absl::Status status = ReadInChildFirst(path, [&] { return ReadModelFile(path).status(); });
      !status.ok()) {
    return status;
  }
  return ReadModelFile(path);
}

}  // namespace layers
