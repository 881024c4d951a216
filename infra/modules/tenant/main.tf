# One council: its Dialogflow ES agent and fulfillment in the council's project, and its secrets in
# the platform project (where the webhook runs). Every resource names its project explicitly; see
# the root README.md ("One provider") for why there is no provider alias per council.

locals {
  # Upstream keys the council fills in: Secret Manager secret townhall-<tenant>-<name>. Processes
  # refer to them by name in their settings (e.g. api_key_secret: pay-api-key).
  upstream_keys = toset([
    "pay-api-key", "notify-api-key", "open311-api-key", "open311-county-api-key", "democracy-club-api-key",
    "os-places-api-key",
  ])

  secret_prefix = "townhall-${var.tenant.id}"

  # Every secret of the council, by name: secret id townhall-<tenant>-<name>, label purpose.
  secrets = merge(
    { "webhook-password" = "webhook-password" },
    { for key in local.upstream_keys : key => "upstream-key" },
  )

  labels = {
    tenant = var.tenant.id
    gss    = lower(var.tenant.gss_code)
  }

  adder_grants = {
    for pair in setproduct(local.upstream_keys, var.secret_adders) : "${pair[0]} ${pair[1]}" => {
      key    = pair[0]
      member = pair[1]
    }
  }
}

# The council project's APIs. A fresh project needs serviceusage.googleapis.com (and
# cloudresourcemanager.googleapis.com) on before Terraform can enable anything there, because the
# provider names the resource's project as the quota project of each call
# (docs/operations.md, "First apply", stage 0, enables them by hand once).
resource "google_project_service" "apis" {
  for_each = toset(["serviceusage.googleapis.com", "cloudresourcemanager.googleapis.com", "dialogflow.googleapis.com"])

  project            = var.tenant.project
  service            = each.key
  disable_on_destroy = false
}

# Every setting the built agent ZIP (agent.json) also carries comes from infra/agent-settings.json,
# the one copy `townhall agent build` reads too, so a deploy and the next plan never disagree. The
# provider writes the whole agent on each update, so everything the ZIP sets is set here as well.
resource "google_dialogflow_agent" "agent" {
  #checkov:skip=CKV2_GCP_29:Dialogflow's conversation logs would keep residents' own words; the webhook logs outcomes without personal data instead (docs/architecture.md, "Logs").
  project      = var.tenant.project
  display_name = replace(var.agent.display_name, "{name}", var.tenant.name)
  description  = replace(replace(var.agent.description, "{name}", var.tenant.name), "{gss_code}", var.tenant.gss_code)

  # The default language cannot change once the agent exists; Welsh is added where offered.
  default_language_code    = var.agent.language
  supported_language_codes = [for language in var.tenant.languages : language if language != var.agent.language]
  time_zone                = var.agent.time_zone
  api_version              = "API_VERSION_V2"
  classification_threshold = var.agent.classification_threshold
  tier                     = var.agent.tiers[var.tenant.edition]

  # Conversation logging in Dialogflow would store residents' own words: off. The webhook logs
  # outcomes without personal data instead.
  enable_logging = var.agent.interaction_logging

  # abandon (the default): removing the tenant file leaves the agent in the council's project,
  # no longer managed; delete removes it and its intents; prevent makes such an apply fail.
  deletion_policy = upper(var.tenant.deletion_policy)

  depends_on = [google_project_service.apis]
}

# The webhook secret: Basic-auth password of this council's fulfillment, kept in Secret Manager for
# operators. Terraform state holds it (random_password and the fulfillment both keep it), so the
# state bucket is as sensitive as the secret; the tenant file and Firestore hold only its SHA-256.
resource "random_password" "webhook" {
  length  = 40
  special = false
}

resource "google_secret_manager_secret_version" "webhook_password" {
  secret      = google_secret_manager_secret.secrets["webhook-password"].id
  secret_data = random_password.webhook.result
}

resource "google_dialogflow_fulfillment" "webhook" {
  project      = var.tenant.project
  display_name = "townhall-webhook"
  enabled      = true

  generic_web_service {
    uri      = var.platform.webhook_url
    username = var.tenant.id
    password = random_password.webhook.result
  }

  depends_on = [google_dialogflow_agent.agent]
}

# The council's secrets, in the platform project (where the webhook runs), replicated only in its
# region: the webhook password (above), and its upstream keys (GOV.UK Pay, GOV.UK Notify, Open311,
# Democracy Club) as empty containers the council fills with `gcloud secrets versions add`.
resource "google_secret_manager_secret" "secrets" {
  for_each = local.secrets

  project   = var.platform.project
  secret_id = "${local.secret_prefix}-${each.key}"
  labels    = merge(local.labels, { purpose = each.value })

  replication {
    user_managed {
      replicas {
        location = var.platform.region
      }
    }
  }
}

# The webhook may read exactly the upstream keys: nothing project-wide, not the webhook password.
resource "google_secret_manager_secret_iam_member" "webhook_reads_upstream" {
  for_each = local.upstream_keys

  project   = var.platform.project
  secret_id = google_secret_manager_secret.secrets[each.key].secret_id
  role      = "roles/secretmanager.secretAccessor"
  member    = "serviceAccount:${var.platform.webhook_service_account}"
}

resource "google_secret_manager_secret_iam_member" "council_adds_versions" {
  for_each = local.adder_grants

  project   = var.platform.project
  secret_id = google_secret_manager_secret.secrets[each.value.key].secret_id
  role      = "roles/secretmanager.secretVersionAdder"
  member    = each.value.member
}
