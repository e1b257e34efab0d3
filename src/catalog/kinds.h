#pragma once
// Registers the catalog's configuration kinds (Team, Service) with the registry.

#include "catalog/catalog.h"
#include "config/kind_registry.h"

namespace platops::catalog {

// `catalog` must outlive the registry's use.
void RegisterKinds(config::KindRegistry& registry, CatalogService& catalog);

}  // namespace platops::catalog
