output "webhook_url" {
  description = "HTTPS address of the webhook; every council's Dialogflow fulfillment calls it."
  value       = module.platform.webhook_url
}

output "chat_url" {
  description = "HTTPS address of the residents' chat gateway: councils embed <chat_url>/widget/townhall-chat.js (docs/webchat.md)."
  value       = module.platform.chat_url
}

output "webhook_service_account" {
  description = "Service account the webhook runs as."
  value       = module.platform.service_account_email
}

output "webhook_password_sha256" {
  description = "Per tenant id, the SHA-256 of its webhook secret: the input of `townhall settings push --webhook-hashes`."
  value       = { for id, tenant in module.tenant : id => tenant.webhook_password_sha256 }
}

output "tenants" {
  description = "Per tenant id: its agent's project and the Secret Manager secrets made for it."
  value = {
    for id, tenant in module.tenant : id => {
      agent_project    = tenant.agent_project
      webhook_secret   = tenant.webhook_secret_id
      upstream_secrets = tenant.upstream_secret_ids
    }
  }
}
