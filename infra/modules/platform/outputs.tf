output "project" {
  description = "The platform project, once its APIs are enabled: resources that use it (the tenants' secrets) wait for them."
  value       = var.project

  depends_on = [google_project_service.apis]
}

output "webhook_url" {
  description = "HTTPS address of the webhook function (every council's fulfillment URI)."
  value       = google_cloudfunctions2_function.webhook.service_config[0].uri
}

output "service_account_email" {
  description = "Service account the webhook runs as (granted read access to each council's upstream key secrets by the tenant module)."
  value       = google_service_account.webhook.email
}

output "function_name" {
  description = "Name of the Cloud Function (and of its Cloud Run service, where logs and metrics live)."
  value       = google_cloudfunctions2_function.webhook.name
}

output "source_object" {
  description = "gs:// address of the bundle the function was built from."
  value       = "gs://${google_storage_bucket.sources.name}/${google_storage_bucket_object.source.name}"
}

output "firestore_database" {
  description = "Firestore database id of tenant settings (collection tenants, document id = tenant id)."
  value       = google_firestore_database.settings.name
}

output "side_effects_database" {
  description = "Firestore database id of the once-only side-effect records (collection side_effects), the only database the webhook may write."
  value       = google_firestore_database.side_effects.name
}

# -- The residents' chat gateway (chat.tf) -------------------------------------------------------------

output "chat_url" {
  description = "HTTPS address of the chat gateway function: the widget's base (its script is <chat_url>/widget/townhall-chat.js)."
  value       = google_cloudfunctions2_function.chat.service_config[0].uri
}

output "chat_service_account_email" {
  description = "Service account the chat gateway runs as (granted roles/dialogflow.client on each council's agent project by the tenant module)."
  value       = google_service_account.chat.email
}
