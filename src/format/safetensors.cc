#include "format/safetensors.h"

#include <algorithm>
#include <cstring>
#include <fstream>
#include <limits>
#include <nlohmann/json.hpp>

#include "base/error.h"

namespace dseek {
namespace {

using nlohmann::json;

// The spec caps the header at 100 MB; anything larger is a corrupt length.
constexpr uint64_t kMaxHeaderBytes = 100ull << 20;

uint64_t ReadU64Le(const uint8_t* p) {
  uint64_t v = 0;
  for (int i = 7; i >= 0; --i) v = (v << 8) | p[i];
  return v;
}

}  // namespace

std::unique_ptr<SafetensorsFile> SafetensorsFile::Open(const std::string& path, bool populate) {
  std::unique_ptr<SafetensorsFile> f(new SafetensorsFile(MappedFile(path, populate)));
  f->Parse();
  return f;
}

const SafetensorsEntry* SafetensorsFile::Find(const std::string& name) const {
  auto it = by_name_.find(name);
  return it == by_name_.end() ? nullptr : &tensors_[it->second];
}

void SafetensorsFile::Parse() {
  const std::string& path = file_.path();
  const size_t size = file_.size();
  if (size < 8) throw Error(path, "", "truncated: file is " + std::to_string(size) + " bytes, shorter than the 8-byte header length");
  const uint64_t header_len = ReadU64Le(file_.data());
  if (header_len > kMaxHeaderBytes)
    throw Error(path, "", "header length " + std::to_string(header_len) + " is implausible (limit 100 MB)");
  if (header_len > size - 8)
    throw Error(path, "", "header length " + std::to_string(header_len) + " runs past the end of the file (" +
                              std::to_string(size) + " bytes)");
  const char* hbegin = reinterpret_cast<const char*>(file_.data() + 8);
  json header;
  try {
    header = json::parse(hbegin, hbegin + header_len);
  } catch (const json::exception& e) {
    throw Error(path, "header", std::string("bad JSON: ") + e.what());
  }
  if (!header.is_object()) throw Error(path, "header", "JSON header is not an object");

  const uint8_t* data_begin = file_.data() + 8 + header_len;
  const uint64_t data_size = size - 8 - header_len;

  for (auto it = header.begin(); it != header.end(); ++it) {
    const std::string& name = it.key();
    const json& v = it.value();
    if (name == "__metadata__") {
      if (!v.is_object()) throw Error(path, name, "must be an object of strings");
      for (auto m = v.begin(); m != v.end(); ++m) {
        if (!m.value().is_string()) throw Error(path, "__metadata__." + m.key(), "value is not a string");
        metadata_[m.key()] = m.value().get<std::string>();
      }
      continue;
    }
    if (!v.is_object()) throw Error(path, name, "tensor entry is not an object");
    if (!v.contains("dtype") || !v["dtype"].is_string()) throw Error(path, name, "missing or non-string dtype");
    auto dtype = DTypeFromSafetensorsName(v["dtype"].get<std::string>());
    if (!dtype) throw Error(path, name, "unknown dtype '" + v["dtype"].get<std::string>() + "'");
    if (!v.contains("shape") || !v["shape"].is_array()) throw Error(path, name, "missing or non-array shape");
    if (!v.contains("data_offsets") || !v["data_offsets"].is_array() || v["data_offsets"].size() != 2)
      throw Error(path, name, "data_offsets must be an array of two integers");

    SafetensorsEntry e;
    e.name = name;
    e.dtype = *dtype;
    uint64_t elems = 1;
    for (const json& d : v["shape"]) {
      if (!d.is_number_unsigned() && !(d.is_number_integer() && d.get<int64_t>() >= 0))
        throw Error(path, name, "shape has a negative or non-integer dimension");
      uint64_t dim = d.get<uint64_t>();
      if (dim > static_cast<uint64_t>(std::numeric_limits<int64_t>::max())) throw Error(path, name, "shape dimension too large");
      if (dim != 0 && elems > std::numeric_limits<uint64_t>::max() / 8 / dim)
        throw Error(path, name, "shape overflows");
      elems *= dim;
      e.shape.push_back(static_cast<int64_t>(dim));
    }
    const json& off = v["data_offsets"];
    for (const json& o : off)
      if (!o.is_number_unsigned() && !(o.is_number_integer() && o.get<int64_t>() >= 0))
        throw Error(path, name, "data_offsets must be non-negative integers");
    uint64_t begin = off[0].get<uint64_t>(), end = off[1].get<uint64_t>();
    if (begin > end) throw Error(path, name, "data_offsets begin " + std::to_string(begin) + " > end " + std::to_string(end));
    if (end > data_size)
      throw Error(path, name, "data_offsets end " + std::to_string(end) + " is past the end of the data (" +
                                  std::to_string(data_size) + " bytes; file truncated?)");
    uint64_t expect = elems * DTypeSize(e.dtype);
    if (end - begin != expect)
      throw Error(path, name, "data_offsets span " + std::to_string(end - begin) + " bytes but dtype and shape need " +
                                  std::to_string(expect));
    e.data = data_begin + begin;
    e.nbytes = end - begin;
    by_name_[name] = tensors_.size();
    tensors_.push_back(std::move(e));
  }

  // Overlapping tensors would alias each other's weights: reject.
  std::vector<const SafetensorsEntry*> order;
  for (const auto& t : tensors_) order.push_back(&t);
  std::sort(order.begin(), order.end(), [](auto* a, auto* b) { return a->data < b->data; });
  for (size_t i = 1; i < order.size(); ++i) {
    if (order[i - 1]->nbytes > 0 && order[i - 1]->data + order[i - 1]->nbytes > order[i]->data)
      throw Error(path, order[i]->name, "data_offsets overlap those of " + order[i - 1]->name);
  }
}

std::map<std::string, std::string> ReadSafetensorsIndex(const std::string& path) {
  std::string text = ReadTextFile(path);
  json j;
  try {
    j = json::parse(text);
  } catch (const json::exception& e) {
    throw Error(path, "", std::string("bad JSON: ") + e.what());
  }
  if (!j.is_object() || !j.contains("weight_map") || !j["weight_map"].is_object())
    throw Error(path, "weight_map", "missing or not an object");
  std::map<std::string, std::string> out;
  for (auto it = j["weight_map"].begin(); it != j["weight_map"].end(); ++it) {
    if (!it.value().is_string()) throw Error(path, "weight_map." + it.key(), "shard name is not a string");
    std::string shard = it.value().get<std::string>();
    if (shard.empty() || shard.find('/') != std::string::npos || shard.find('\\') != std::string::npos ||
        shard == "." || shard == "..")
      throw Error(path, "weight_map." + it.key(), "shard name '" + shard + "' is not a plain file name");
    out[it.key()] = shard;
  }
  return out;
}

void WriteSafetensors(const std::string& path, const std::vector<SafetensorsWriteEntry>& tensors,
                      const std::map<std::string, std::string>& metadata) {
  json header = json::object();
  if (!metadata.empty()) header["__metadata__"] = metadata;
  uint64_t offset = 0;
  for (const auto& t : tensors) {
    header[t.name] = {{"dtype", std::string(DTypeName(t.dtype))},
                      {"shape", t.shape},
                      {"data_offsets", {offset, offset + t.bytes.size()}}};
    offset += t.bytes.size();
  }
  std::string h = header.dump();
  while (h.size() % 8 != 0) h.push_back(' ');
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  if (!out) throw Error(path, "", "cannot create file");
  uint8_t len[8];
  for (int i = 0; i < 8; ++i) len[i] = static_cast<uint8_t>((static_cast<uint64_t>(h.size()) >> (8 * i)) & 0xff);
  out.write(reinterpret_cast<const char*>(len), 8);
  out.write(h.data(), static_cast<std::streamsize>(h.size()));
  for (const auto& t : tensors) out.write(reinterpret_cast<const char*>(t.bytes.data()), static_cast<std::streamsize>(t.bytes.size()));
  out.flush();
  if (!out) throw Error(path, "", "write failed (disk full?)");
}

}  // namespace dseek
