# Townhall: the shared platform once, and the tenant module once per council file.
#
# Each infra/tenants/<id>.yaml (schema: functions/townhall/schemas/tenant.schema.json) becomes one
# instance of modules/tenant: adding a council is adding a file in a reviewed pull request.

locals {
  tenant_files = fileset("${path.module}/tenants", "*.yaml")

  all_tenants = {
    for file in local.tenant_files :
    trimsuffix(file, ".yaml") => yamldecode(file("${path.module}/tenants/${file}"))
  }

  # Demo tenants (demo: true) name made-up projects: they are deployed only where
  # include_demo_tenants is set, e.g. a staging platform that owns those projects.
  tenants = {
    for id, doc in local.all_tenants : id => doc
    if var.include_demo_tenants || !try(doc.demo, false)
  }

  # Agent settings shared with `townhall agent build` (agent.json in the ZIP): one copy for both.
  agent_settings = jsondecode(file("${path.module}/agent-settings.json"))

  source_zip = coalesce(var.function_source_zip, "${path.root}/../build/function.zip")
}

module "platform" {
  source = "./modules/platform"

  project                     = var.platform_project
  region                      = var.region
  firestore_location          = var.firestore_location
  source_zip                  = local.source_zip
  function                    = var.function
  alert_notification_channels = var.alert_notification_channels
  alerts_enabled              = var.alerts_enabled
}

# A tenant file's dialogflow.edition and deletion_policy are passed as null when it says nothing,
# so the tenant module's defaults (one copy) apply.
module "tenant" {
  source   = "./modules/tenant"
  for_each = local.tenants

  tenant = {
    id              = each.value.id
    name            = each.value.name
    gss_code        = each.value.gss_code
    languages       = each.value.languages
    project         = each.value.dialogflow.project
    location        = try(each.value.dialogflow.location, null)
    edition         = try(each.value.dialogflow.edition, null)
    deletion_policy = try(each.value.dialogflow.deletion_policy, null)
  }

  agent = local.agent_settings

  platform = {
    project                 = module.platform.project
    region                  = var.region
    webhook_url             = module.platform.webhook_url
    webhook_service_account = module.platform.service_account_email
  }

  chat_service_account = module.platform.chat_service_account_email

  secret_adders = lookup(var.secret_adders, each.key, [])
}
