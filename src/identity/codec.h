#pragma once
// JSON shapes of users and tokens: the API's bodies and the event log's payloads.
// Thread-safety: pure functions.

#include <boost/json/object.hpp>
#include <boost/json/value.hpp>

#include "identity/identity.h"

namespace platops::identity {

boost::json::object UserToJson(const User& u);
boost::json::object TokenToJson(const Token& t);
// Strict: unknown fields are rejected. `version`, `created_at` and `updated_at` are accepted and
// ignored except `version`, which is returned in user.version (0 when absent).
Result<User> UserFromJson(const boost::json::value& v, const std::string& path = {});

}  // namespace platops::identity
