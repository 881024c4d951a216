# The platform every tenant shares: one Cloud Functions (2nd gen) webhook, the Firestore database of
# tenant settings, the bucket of webhook bundles, public ingress for Dialogflow, and the alerts.

locals {
  function_name = "townhall-webhook"

  apis = toset([
    "artifactregistry.googleapis.com",
    "cloudbuild.googleapis.com",
    "cloudfunctions.googleapis.com",
    "firestore.googleapis.com",
    "iam.googleapis.com",
    "logging.googleapis.com",
    "monitoring.googleapis.com",
    "run.googleapis.com",
    "secretmanager.googleapis.com",
    "storage.googleapis.com",
  ])
}

resource "google_project_service" "apis" {
  for_each = local.apis

  project            = var.project
  service            = each.key
  disable_on_destroy = false
}

# -- Settings: Firestore (Native mode), collection `tenants`, written by `townhall settings push` --

resource "google_firestore_database" "settings" {
  project                 = var.project
  name                    = "(default)"
  location_id             = var.firestore_location
  type                    = "FIRESTORE_NATIVE"
  delete_protection_state = "DELETE_PROTECTION_ENABLED"
  deletion_policy         = "ABANDON"

  depends_on = [google_project_service.apis]
}

# Once-only side effects (townhall/sideeffects.py): each record carries `expire_at`, and Firestore's
# TTL policy deletes it after then, so the collection does not grow for ever.
resource "google_firestore_field" "side_effects_expire_at" {
  project    = var.project
  database   = google_firestore_database.settings.name
  collection = "side_effects"
  field      = "expire_at"

  ttl_config {}
}

# -- Identities ------------------------------------------------------------------------------------

# The webhook runs as this account: it reads settings and writes its once-only side-effect records
# (collection `side_effects`), and (granted by each tenant module) reads exactly the upstream key
# secrets of each council. Nothing else. Firestore's IAM grants per database, not per collection:
# the code writes only `side_effects`; settings are pushed by CI under its own account.
resource "google_service_account" "webhook" {
  project      = var.project
  account_id   = "townhall-webhook"
  display_name = "Townhall webhook (runtime)"
  description  = "Runs the Dialogflow webhook: Firestore settings read and side-effect records, each council's upstream key secrets."
}

resource "google_project_iam_member" "webhook_firestore" {
  project = var.project
  role    = "roles/datastore.user"
  member  = "serviceAccount:${google_service_account.webhook.email}"
}

# Cloud Build builds the function's image as this account (not the project's default accounts).
resource "google_service_account" "build" {
  project      = var.project
  account_id   = "townhall-function-build"
  display_name = "Townhall webhook (function builds)"
  description  = "Builds the webhook's container from its source bundle."
}

resource "google_project_iam_member" "build" {
  for_each = toset(["roles/logging.logWriter", "roles/artifactregistry.writer", "roles/storage.objectAdmin"])

  project = var.project
  role    = each.key
  member  = "serviceAccount:${google_service_account.build.email}"
}

# -- Source bundle ---------------------------------------------------------------------------------

resource "google_storage_bucket" "sources" {
  project                     = var.project
  name                        = "${var.project}-townhall-sources"
  location                    = upper(var.region)
  uniform_bucket_level_access = true
  public_access_prevention    = "enforced"
  force_destroy               = false

  lifecycle_rule {
    condition {
      age = 90
    }
    action {
      type = "Delete"
    }
  }

  depends_on = [google_project_service.apis]
}

# Named by its content: the same source makes the same object, so an unchanged bundle never
# redeploys the function, and any change does.
resource "google_storage_bucket_object" "source" {
  bucket = google_storage_bucket.sources.name
  name   = "${local.function_name}/${filesha256(var.source_zip)}.zip"
  source = var.source_zip
}

# -- The webhook -----------------------------------------------------------------------------------

resource "google_cloudfunctions2_function" "webhook" {
  project     = var.project
  name        = local.function_name
  location    = var.region
  description = "Townhall: the Dialogflow ES webhook of every council."

  build_config {
    runtime         = "python311"
    entry_point     = "webhook"
    service_account = google_service_account.build.id

    source {
      storage_source {
        bucket = google_storage_bucket.sources.name
        object = google_storage_bucket_object.source.name
      }
    }
  }

  service_config {
    available_memory                 = var.function.memory
    available_cpu                    = "1"
    timeout_seconds                  = 10
    min_instance_count               = var.function.min_instances
    max_instance_count               = var.function.max_instances
    max_instance_request_concurrency = var.function.concurrency
    ingress_settings                 = "ALLOW_ALL"
    all_traffic_on_latest_revision   = true
    service_account_email            = google_service_account.webhook.email

    environment_variables = {
      TOWNHALL_SETTINGS_BACKEND   = "firestore"
      TOWNHALL_FIRESTORE_DATABASE = google_firestore_database.settings.name
      GOOGLE_CLOUD_PROJECT        = var.project
      TOWNHALL_SECRETS_BACKEND    = "secretmanager"
      TOWNHALL_SECRETS_PROJECT    = var.project
    }
  }

  depends_on = [
    google_project_service.apis,
    google_project_iam_member.build,
    google_project_iam_member.webhook_firestore,
  ]
}

# Public ingress: Dialogflow ES calls the fulfillment without Google-signed identity tokens when it
# sends Basic credentials, so the function must accept unauthenticated HTTP; the webhook checks
# each council's Basic credential itself (townhall/auth.py).
resource "google_cloud_run_service_iam_member" "public" {
  project  = var.project
  location = var.region
  service  = google_cloudfunctions2_function.webhook.name
  role     = "roles/run.invoker"
  member   = "allUsers"
}
