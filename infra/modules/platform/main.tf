# The platform every tenant shares: one Cloud Functions (2nd gen) webhook, the Firestore databases of
# tenant settings and of side-effect records, the bucket of webhook bundles, public ingress for Dialogflow, and the alerts.

locals {
  function_name = "townhall-webhook"

  # Firestore resource names, for the IAM conditions below: a database and everything under it.
  settings_database_name     = "projects/${var.project}/databases/${google_firestore_database.settings.name}"
  side_effects_database_name = "projects/${var.project}/databases/${google_firestore_database.side_effects.name}"

  apis = toset([
    "artifactregistry.googleapis.com",
    "cloudbuild.googleapis.com",
    "cloudfunctions.googleapis.com",
    "cloudresourcemanager.googleapis.com",
    "firestore.googleapis.com",
    "iam.googleapis.com",
    "logging.googleapis.com",
    "monitoring.googleapis.com",
    "run.googleapis.com",
    "secretmanager.googleapis.com",
    "serviceusage.googleapis.com",
    "storage.googleapis.com",
  ])
}

resource "google_project_service" "apis" {
  for_each = local.apis

  project            = var.project
  service            = each.key
  disable_on_destroy = false
}

# -- Settings: Firestore (Native mode), collection `tenants` and the tenant index
# `townhall/tenant-index`, written by `townhall settings push` (the deploy account), read by the
# webhook --

resource "google_firestore_database" "settings" {
  project                 = var.project
  name                    = "(default)"
  location_id             = var.firestore_location
  type                    = "FIRESTORE_NATIVE"
  delete_protection_state = "DELETE_PROTECTION_ENABLED"
  deletion_policy         = "ABANDON"

  depends_on = [google_project_service.apis]
}

# Once-only side effects (townhall/sideeffects.py): records in a database of their own, the only
# one the webhook may write (TOWNHALL_SIDE_EFFECTS_DATABASE names it for the runtime).
resource "google_firestore_database" "side_effects" {
  project                 = var.project
  name                    = "townhall-side-effects"
  location_id             = var.firestore_location
  type                    = "FIRESTORE_NATIVE"
  delete_protection_state = "DELETE_PROTECTION_ENABLED"
  deletion_policy         = "ABANDON"

  depends_on = [google_project_service.apis]
}

# Each record carries `expire_at`, and Firestore's TTL policy deletes it after then, so the
# collection does not grow for ever.
resource "google_firestore_field" "side_effects_expire_at" {
  project    = var.project
  database   = google_firestore_database.side_effects.name
  collection = "side_effects"
  field      = "expire_at"

  ttl_config {}

  depends_on = [google_project_service.apis]
}

# -- Identities ------------------------------------------------------------------------------------

# The webhook runs as this account: it reads the settings database, reads and writes its once-only
# side-effect records in their own database, and (granted by each tenant module) reads exactly the
# upstream key secrets of each council. Nothing else. Firestore's IAM grants per database (by IAM
# condition on the database's resource name), not per collection, hence two databases: a
# compromised webhook cannot rewrite any council's settings (password hashes, upstream addresses).
# Settings are pushed by CI under the deploy account, which keeps write on them.
resource "google_service_account" "webhook" {
  project      = var.project
  account_id   = "townhall-webhook"
  display_name = "Townhall webhook (runtime)"
  description  = "Runs the Dialogflow webhook: Firestore settings read, side-effect records read and written in their own database, each council's upstream key secrets."

  depends_on = [google_project_service.apis]
}

resource "google_project_iam_member" "webhook_reads_settings" {
  project = var.project
  role    = "roles/datastore.viewer"
  member  = "serviceAccount:${google_service_account.webhook.email}"

  condition {
    title       = "townhall-settings-database-only"
    description = "Read the tenant settings database, nothing else."
    expression  = "resource.name == \"${local.settings_database_name}\" || resource.name.startsWith(\"${local.settings_database_name}/\")"
  }

  depends_on = [google_project_service.apis]
}

resource "google_project_iam_member" "webhook_writes_side_effects" {
  project = var.project
  role    = "roles/datastore.user"
  member  = "serviceAccount:${google_service_account.webhook.email}"

  condition {
    title       = "townhall-side-effects-database-only"
    description = "Read and write the side-effect records database, nothing else."
    expression  = "resource.name == \"${local.side_effects_database_name}\" || resource.name.startsWith(\"${local.side_effects_database_name}/\")"
  }

  depends_on = [google_project_service.apis]
}

# Cloud Build builds the function's image as this account (not the project's default accounts).
resource "google_service_account" "build" {
  project      = var.project
  account_id   = "townhall-function-build"
  display_name = "Townhall webhook (function builds)"
  description  = "Builds the webhook's container from its source bundle."

  depends_on = [google_project_service.apis]
}

resource "google_project_iam_member" "build" {
  for_each = toset(["roles/logging.logWriter", "roles/artifactregistry.writer", "roles/storage.objectAdmin"])

  project = var.project
  role    = each.key
  member  = "serviceAccount:${google_service_account.build.email}"

  depends_on = [google_project_service.apis]
}

# -- Source bundle ---------------------------------------------------------------------------------

# Bundles are named by their content (below), so a bundle in use is never overwritten: old bundles
# stay as rollback points. Versioning keeps anything overwritten or deleted by hand for 90 days.
# No rule ever deletes a live bundle, which would make every later plan create it again.
resource "google_storage_bucket" "sources" {
  project                     = var.project
  name                        = "${var.project}-townhall-sources"
  location                    = upper(var.region)
  uniform_bucket_level_access = true
  public_access_prevention    = "enforced"
  force_destroy               = false

  versioning {
    enabled = true
  }

  logging {
    log_bucket        = google_storage_bucket.access_logs.name
    log_object_prefix = "sources/"
  }

  lifecycle_rule {
    condition {
      with_state                 = "ARCHIVED"
      days_since_noncurrent_time = 90
    }
    action {
      type = "Delete"
    }
  }

  depends_on = [google_project_service.apis]
}

# Access logs of the bundle bucket (Cloud Storage usage logs), kept a year. With versioning on,
# the age rule only makes a year-old log noncurrent: the second rule deletes it 30 days later (and
# anything deleted or overwritten by hand), or no log would ever go.
resource "google_storage_bucket" "access_logs" {
  #checkov:skip=CKV_GCP_62:This is the access-log bucket itself: logging its own access would log the log writes.
  project                     = var.project
  name                        = "${var.project}-townhall-access-logs"
  location                    = upper(var.region)
  uniform_bucket_level_access = true
  public_access_prevention    = "enforced"
  force_destroy               = false

  versioning {
    enabled = true
  }

  lifecycle_rule {
    condition {
      age = 365
    }
    action {
      type = "Delete"
    }
  }

  lifecycle_rule {
    condition {
      with_state                 = "ARCHIVED"
      days_since_noncurrent_time = 30
    }
    action {
      type = "Delete"
    }
  }

  depends_on = [google_project_service.apis]
}

# Cloud Storage writes usage logs as this Google group (Cloud Storage documentation, "Usage logs").
resource "google_storage_bucket_iam_member" "access_logs_writer" {
  bucket = google_storage_bucket.access_logs.name
  role   = "roles/storage.objectCreator"
  member = "group:cloud-storage-analytics@google.com"
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
  #checkov:skip=CKV_GCP_124:Dialogflow ES calls the fulfillment from Google's network without a fixed address or an identity token: ingress must be ALLOW_ALL; every request is checked against a council's Basic credential.
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

    # THREADS: functions-framework's gunicorn threads (its default is 4 per CPU), one per request
    # the instance is sent at once, so no request waits for a thread (docs/reliability.md).
    # MALLOC_*: glibc keeps fewer per-thread heaps and returns large buffers at once, so bodies
    # the webhook refuses do not stay in the worker's memory (docs/reliability.md).
    environment_variables = {
      TOWNHALL_SETTINGS_BACKEND      = "firestore"
      TOWNHALL_FIRESTORE_DATABASE    = google_firestore_database.settings.name
      TOWNHALL_SIDE_EFFECTS_DATABASE = google_firestore_database.side_effects.name
      GOOGLE_CLOUD_PROJECT           = var.project
      TOWNHALL_SECRETS_BACKEND       = "secretmanager"
      TOWNHALL_SECRETS_PROJECT       = var.project
      THREADS                        = tostring(var.function.concurrency)
      MALLOC_ARENA_MAX               = "2"
      MALLOC_MMAP_THRESHOLD_         = "131072"
    }
  }

  depends_on = [
    google_project_service.apis,
    google_project_iam_member.build,
    google_project_iam_member.webhook_reads_settings,
    google_project_iam_member.webhook_writes_side_effects,
  ]
}

# Public ingress: Dialogflow ES calls the fulfillment without Google-signed identity tokens when it
# sends Basic credentials, so the function must accept unauthenticated HTTP; the webhook checks
# each council's Basic credential itself (townhall/auth.py).
resource "google_cloud_run_service_iam_member" "public" {
  #checkov:skip=CKV_GCP_102:Dialogflow ES's Basic-auth fulfillment sends no Google identity token, so the webhook must be invocable by allUsers; it authenticates each council's Basic credential itself (townhall/auth.py).
  project  = var.project
  location = var.region
  service  = google_cloudfunctions2_function.webhook.name
  role     = "roles/run.invoker"
  member   = "allUsers"
}
