#include "api/api.h"

namespace platops::api {

void RegisterSystemApi(http::Router& router, ApiDeps& deps);
void RegisterCatalogApi(http::Router& router, ApiDeps& deps);
void RegisterIdentityApi(http::Router& router, ApiDeps& deps);
void RegisterEventsApi(http::Router& router, ApiDeps& deps);
void RegisterApplyApi(http::Router& router, ApiDeps& deps);
void RegisterChecksApi(http::Router& router, ApiDeps& deps);
void RegisterPrometheusApi(http::Router& router, ApiDeps& deps);
void RegisterScrapeApi(http::Router& router, ApiDeps& deps);
void RegisterAlertmanagerApi(http::Router& router, ApiDeps& deps);
void RegisterNotificationsApi(http::Router& router, ApiDeps& deps);
void RegisterAlertHistoryApi(http::Router& router, ApiDeps& deps);
void RegisterPagerDutyApi(http::Router& router, ApiDeps& deps);

void RegisterApi(http::Router& router, ApiDeps& deps) {
  RegisterSystemApi(router, deps);
  RegisterCatalogApi(router, deps);
  RegisterIdentityApi(router, deps);
  RegisterEventsApi(router, deps);
  RegisterApplyApi(router, deps);
  RegisterChecksApi(router, deps);
  RegisterPrometheusApi(router, deps);
  RegisterScrapeApi(router, deps);
  RegisterAlertmanagerApi(router, deps);
  RegisterNotificationsApi(router, deps);
  RegisterAlertHistoryApi(router, deps);
  RegisterPagerDutyApi(router, deps);
}

}  // namespace platops::api
