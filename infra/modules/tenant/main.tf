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
  welsh         = contains(var.tenant.languages, "cy")

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

resource "google_project_service" "apis" {
  for_each = toset(["dialogflow.googleapis.com"])

  project            = var.tenant.project
  service            = each.key
  disable_on_destroy = false
}

resource "google_dialogflow_agent" "agent" {
  project      = var.tenant.project
  display_name = "Townhall - ${var.tenant.name}"
  description  = "Townhall agent of ${var.tenant.name} (${var.tenant.gss_code}), built from the shared process library."

  # en-gb cannot be changed once the agent exists; Welsh is added where the council offers it.
  default_language_code    = "en-gb"
  supported_language_codes = local.welsh ? ["cy"] : []
  time_zone                = "Europe/London"
  api_version              = "API_VERSION_V2"
  tier                     = "TIER_STANDARD"

  # Conversation logging in Dialogflow would store residents' own words: off. The webhook logs
  # outcomes without personal data instead.
  enable_logging = false

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
