output "agent_project" {
  description = "Project of the council's Dialogflow ES agent (its sessions name the tenant)."
  value       = google_dialogflow_agent.agent.id
}

output "webhook_secret_id" {
  description = "Secret Manager secret (in the platform project) holding the council's webhook password."
  value       = google_secret_manager_secret.secrets["webhook-password"].secret_id
}

output "webhook_password_sha256" {
  description = "Lower-case hex SHA-256 of the webhook password, for the tenant's settings in Firestore."
  value       = nonsensitive(sha256(random_password.webhook.result))
}

output "upstream_secret_ids" {
  description = "Per upstream key name (pay-api-key, ...), the Secret Manager secret id the council fills."
  value       = { for key in local.upstream_keys : key => google_secret_manager_secret.secrets[key].secret_id }
}
