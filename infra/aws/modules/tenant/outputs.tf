output "webhook_password_sha256" {
  description = "SHA-256 of the webhook password: what the tenants table holds (settings push --webhook-hashes)."
  value       = sha256(random_password.webhook.result)
}

output "webhook_secret_name" {
  description = "Name of the Secrets Manager secret holding the webhook password."
  value       = aws_secretsmanager_secret.webhook_password.name
}

output "upstream_secret_names" {
  description = "Per upstream key name, the Secrets Manager secret the council fills in."
  value       = { for key, secret in aws_secretsmanager_secret.upstream : key => secret.name }
}
