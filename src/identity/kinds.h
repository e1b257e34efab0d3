#pragma once
// Registers identity's configuration kinds (User) with the registry.

#include "config/kind_registry.h"
#include "identity/identity.h"

namespace platops::identity {

// `identity` must outlive the registry's use.
void RegisterKinds(config::KindRegistry& registry, IdentityService& identity);

}  // namespace platops::identity
