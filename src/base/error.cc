#include "base/error.h"

namespace dseek {
namespace {
std::string Compose(const std::string& where, const std::string& field,
                    const std::string& reason) {
  std::string msg;
  if (!where.empty()) msg += where;
  if (!field.empty()) msg += (msg.empty() ? "" : ": ") + field;
  msg += (msg.empty() ? "" : ": ") + reason;
  return msg;
}
}  // namespace

Error::Error(std::string where, std::string field, std::string reason)
    : std::runtime_error(Compose(where, field, reason)),
      where_(std::move(where)),
      field_(std::move(field)),
      reason_(std::move(reason)) {}

}  // namespace dseek
