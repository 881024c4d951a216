output "webhook_url" {
  description = "The Function URL: every council's Dialogflow fulfillment calls it (townhall agent deploy --webhook-url)."
  value       = module.platform.webhook_url
}

output "webhook_password_sha256" {
  description = "Per tenant id, the SHA-256 of its webhook secret: the input of `townhall settings push --backend dynamodb --webhook-hashes`."
  value       = { for id, tenant in module.tenant : id => tenant.webhook_password_sha256 }
}

output "tables" {
  description = "Names of the tenants table and the side-effect records table."
  value       = module.platform.tables
}

output "tenants" {
  description = "Per tenant id: the Secrets Manager secrets made for it (webhook password, upstream keys)."
  value = {
    for id, tenant in module.tenant : id => {
      webhook_secret   = tenant.webhook_secret_name
      upstream_secrets = tenant.upstream_secret_names
    }
  }
}
