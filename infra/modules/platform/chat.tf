# The residents' chat gateway (functions/townhall/gateway, docs/chat-api.yaml): a second function
# from the same bundle as the webhook (entry point `chat`), called by residents' browsers through the
# chat widget on councils' own pages. It reads tenant settings (read-only), signs conversation tokens
# with a key of its own in Secret Manager, and asks each council's agent through detectIntent as its
# own service account (granted roles/dialogflow.client per council by the tenant module's chat.tf).

locals {
  chat_function_name = "townhall-chat"
  chat_signing_key   = "townhall-chat-signing-key"
}

resource "google_service_account" "chat" {
  project      = var.project
  account_id   = "townhall-chat"
  display_name = "Townhall chat gateway (runtime)"
  description  = "Runs the residents' chat gateway: Firestore settings read, its token signing key, detectIntent on each council's agent."

  depends_on = [google_project_service.apis]
}

resource "google_project_iam_member" "chat_reads_settings" {
  project = var.project
  role    = "roles/datastore.viewer"
  member  = "serviceAccount:${google_service_account.chat.email}"

  condition {
    title       = "townhall-settings-database-only"
    description = "Read the tenant settings database, nothing else."
    expression  = "resource.name == \"${local.settings_database_name}\" || resource.name.startsWith(\"${local.settings_database_name}/\")"
  }

  depends_on = [google_project_service.apis]
}

# The key that signs conversation tokens (HMAC-SHA256): random, made once, kept in the platform
# project's region. Rotating it (a new version) ends every open conversation; the widget starts anew.
resource "random_password" "chat_signing_key" {
  length  = 64
  special = false
}

resource "google_secret_manager_secret" "chat_signing_key" {
  project   = var.project
  secret_id = local.chat_signing_key
  labels    = { purpose = "chat-signing-key" }

  replication {
    user_managed {
      replicas {
        location = var.region
      }
    }
  }

  depends_on = [google_project_service.apis]
}

resource "google_secret_manager_secret_version" "chat_signing_key" {
  secret      = google_secret_manager_secret.chat_signing_key.id
  secret_data = random_password.chat_signing_key.result
}

resource "google_secret_manager_secret_iam_member" "chat_reads_signing_key" {
  project   = var.project
  secret_id = google_secret_manager_secret.chat_signing_key.secret_id
  role      = "roles/secretmanager.secretAccessor"
  member    = "serviceAccount:${google_service_account.chat.email}"
}

resource "google_cloudfunctions2_function" "chat" {
  #checkov:skip=CKV_GCP_124:Residents' browsers call the chat gateway from councils' public web pages: ingress must be ALLOW_ALL; every call is checked against the council's allowed origins, a signed token and rate limits.
  project     = var.project
  name        = local.chat_function_name
  location    = var.region
  description = "Townhall: the residents' chat gateway of every council (the chat widget's API)."

  build_config {
    runtime         = "python311"
    entry_point     = "chat"
    service_account = google_service_account.build.id

    source {
      storage_source {
        bucket = google_storage_bucket.sources.name
        object = google_storage_bucket_object.source.name
      }
    }
  }

  service_config {
    available_memory                 = var.chat.memory
    available_cpu                    = "1"
    timeout_seconds                  = 15 # the gateway answers within TOWNHALL_CHAT_BUDGET (8 s) itself
    min_instance_count               = var.chat.min_instances
    max_instance_count               = var.chat.max_instances
    max_instance_request_concurrency = var.chat.concurrency
    ingress_settings                 = "ALLOW_ALL"
    all_traffic_on_latest_revision   = true
    service_account_email            = google_service_account.chat.email

    environment_variables = {
      TOWNHALL_SETTINGS_BACKEND    = "firestore"
      TOWNHALL_FIRESTORE_DATABASE  = google_firestore_database.settings.name
      GOOGLE_CLOUD_PROJECT         = var.project
      TOWNHALL_SECRETS_PROJECT     = var.project
      TOWNHALL_CHAT_SIGNING_SECRET = google_secret_manager_secret.chat_signing_key.secret_id
      TOWNHALL_CHAT_BUDGET         = "8.0"
      TOWNHALL_CHAT_SESSION_RATE   = var.chat.session_rate
      TOWNHALL_CHAT_IP_RATE        = var.chat.ip_rate
      THREADS                      = tostring(var.chat.concurrency)
      MALLOC_ARENA_MAX             = "2"
    }
  }

  depends_on = [
    google_project_service.apis,
    google_project_iam_member.build,
    google_project_iam_member.chat_reads_settings,
    google_secret_manager_secret_iam_member.chat_reads_signing_key,
    google_secret_manager_secret_version.chat_signing_key,
  ]
}

# Public: browsers call it without Google identities; the gateway checks origins, tokens and rates.
resource "google_cloud_run_service_iam_member" "chat_public" {
  #checkov:skip=CKV_GCP_102:Residents' browsers carry no Google identity: the chat gateway must be invocable by allUsers; it checks each council's allowed origins, signed conversation tokens and rate limits itself.
  project  = var.project
  location = var.region
  service  = google_cloudfunctions2_function.chat.name
  role     = "roles/run.invoker"
  member   = "allUsers"
}
