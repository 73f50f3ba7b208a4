#include "saving/hdf5.h"

#include <gtest/gtest.h>
#include <hdf5.h>

#include <cstdint>
#include <cstdlib>
#include <fstream>
#include <string>
#include <vector>

// HDF5 1.10.8 leaks a few of its own allocations when it gives up on a file: not ours to free.
extern "C" const char* __lsan_default_suppressions() { return "leak:libhdf5_serial.so\n"; }

namespace saving::hdf5 {
namespace {

std::string TempPath(const std::string& name) {
  const char* dir = std::getenv("TEST_TMPDIR");
  return std::string(dir != nullptr ? dir : "/tmp") + "/" + name;
}

// A file of every kind of thing the writers make.
absl::Status WriteSample(const std::string& path) {
  return WriteFile(path, [](hid_t file) -> absl::Status {
    if (absl::Status status = WriteString(file, "name", "héllo"); !status.ok()) return status;
    if (absl::Status status = WriteStringList(file, "list", {"a", "bcd", ""}); !status.ok()) {
      return status;
    }
    Hid group = CreateGroup(file, "group");
    if (!group.ok()) return Failed("group");
    if (absl::Status status = WriteInt64(group.get(), "count", -42); !status.ok()) return status;
    const std::vector<float> values = {1, 2, 3, 4, 5, 6};
    return WriteDataset(group.get(), "inner/values:0", H5T_IEEE_F32LE, H5T_NATIVE_FLOAT, {2, 3},
                        values.data());
  });
}

TEST(Hdf5, WhatIsWrittenReadsBack) {
  const std::string path = TempPath("sample.h5");
  ASSERT_TRUE(WriteSample(path).ok());
  Reader reader(path, 1024);
  ASSERT_TRUE(reader.Open().ok());
  EXPECT_EQ(reader.path(), path);
  EXPECT_GT(reader.file_bytes(), 0u);
  EXPECT_TRUE(reader.HasAttribute(reader.file(), "name"));
  EXPECT_FALSE(reader.HasAttribute(reader.file(), "other"));
  EXPECT_TRUE(reader.HasLink(reader.file(), "group"));
  EXPECT_EQ(*reader.String(reader.file(), "root", "name"), "héllo");
  EXPECT_EQ(*reader.StringList(reader.file(), "root", "list"),
            (std::vector<std::string>{"a", "bcd", ""}));
  Hid group = reader.OpenGroup(reader.file(), "group");
  ASSERT_TRUE(group.ok());
  EXPECT_FALSE(reader.OpenGroup(reader.file(), "missing").ok());
  EXPECT_EQ(*reader.Int64(group.get(), "group", "count"), -42);
  EXPECT_EQ(*reader.StoredValues(group.get(), "group", "inner/values:0"), 6u);
  std::vector<float> values(6);
  ASSERT_TRUE(reader
                  .Dataset(group.get(), "group", "inner/values:0", {2, 3}, H5T_FLOAT,
                           H5T_NATIVE_FLOAT, values.data())
                  .ok());
  EXPECT_EQ(values, (std::vector<float>{1, 2, 3, 4, 5, 6}));
}

TEST(Hdf5, ErrorsNameTheFileAndWhat) {
  const std::string path = TempPath("errors.h5");
  ASSERT_TRUE(WriteSample(path).ok());
  Reader reader(path, 2);
  ASSERT_TRUE(reader.Open().ok());
  Hid group = reader.OpenGroup(reader.file(), "group");
  std::vector<float> values(6);
  EXPECT_EQ(reader
                .Dataset(group.get(), "group", "inner/values:0", {3, 2}, H5T_FLOAT,
                         H5T_NATIVE_FLOAT, values.data())
                .message(),
            "'" + path + "': group, weight 'inner/values:0': expected shape (3, 2), got (2, 3)");
  EXPECT_EQ(reader.String(reader.file(), "root", "missing").status().message(),
            "'" + path + "': root attribute 'missing': expected (it), got (nothing)");
  EXPECT_EQ(
      reader.StringList(reader.file(), "root", "list").status().message(),
      "'" + path + "': root attribute 'list': expected (strings of at most 2 bytes), got (3)");
  EXPECT_EQ(
      reader.String(reader.file(), "root", "name").status().message(),
      "'" + path + "': root attribute 'name': expected (strings of at most 2 bytes), got (6)");

  Reader missing(TempPath("no-such-file.h5"), 1024);
  EXPECT_EQ(missing.Open().code(), absl::StatusCode::kNotFound);
  const std::string text = TempPath("text.h5");
  std::ofstream(text) << "not HDF5";
  Reader not_hdf5(text, 1024);
  EXPECT_EQ(not_hdf5.Open().message(),
            "'" + text +
                "': expected (an HDF5 file, as model.save writes), got (8 bytes that are not one)");
}

TEST(Hdf5, AFailedWriteLeavesTheOldFile) {
  const std::string path = TempPath("kept.h5");
  ASSERT_TRUE(WriteSample(path).ok());
  const absl::Status status =
      WriteFile(path, [](hid_t) { return absl::InvalidArgumentError("no"); });
  EXPECT_EQ(status.message(), "cannot save to '" + path + "': no");
  Reader reader(path, 1024);
  ASSERT_TRUE(reader.Open().ok());
  EXPECT_EQ(*reader.String(reader.file(), "root", "name"), "héllo");
}

TEST(Hdf5, ReadInChildFirstPassesWhatTheChildSurvives) {
  const std::string path = TempPath("child.h5");
  ASSERT_TRUE(WriteSample(path).ok());
  EXPECT_TRUE(ReadInChildFirst(path, [&] {
                Reader reader(path, 1024);
                return reader.Open();
              }).ok());
  const absl::Status crashed = ReadInChildFirst(path, []() -> absl::Status { std::abort(); });
  EXPECT_EQ(crashed.code(), absl::StatusCode::kDataLoss);
}

}  // namespace
}  // namespace saving::hdf5
