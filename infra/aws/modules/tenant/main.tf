# One council on AWS: its webhook password and its upstream keys in Secrets Manager, named as on
# Google Cloud (townhall-<tenant>-<name>). The council's Dialogflow agent stays on Google Cloud:
# `townhall agent deploy <id> --webhook-url <Function URL>` points its fulfillment here.

locals {
  # Upstream keys the council fills in (aws secretsmanager put-secret-value); processes refer to
  # them by name in their settings (e.g. api_key_secret: pay-api-key).
  upstream_keys = toset([
    "pay-api-key", "notify-api-key", "open311-api-key", "open311-county-api-key", "democracy-club-api-key",
    "os-places-api-key",
  ])

  secret_prefix = "townhall-${var.tenant.id}"

  tags = {
    tenant = var.tenant.id
    gss    = lower(var.tenant.gss_code)
  }
}

# The webhook secret: Basic-auth password of this council's fulfillment, kept for operators and
# `townhall agent deploy`. Tagged webhook-password: the webhook's role cannot read it (it checks
# only the SHA-256 held in the tenants table). Terraform state holds it, so the state bucket is as
# sensitive as the secret.
resource "random_password" "webhook" {
  length  = 40
  special = false
}

resource "aws_secretsmanager_secret" "webhook_password" {
  #checkov:skip=CKV_AWS_149:encrypted with the account's Secrets Manager key; access is limited by the webhook role's tag condition
  #checkov:skip=CKV2_AWS_57:rotated by the operators' runbook (docs/operations.md, Rotate a webhook secret): the agent's fulfillment must change with it
  name                    = "${local.secret_prefix}-webhook-password"
  description             = "Townhall: webhook password of ${var.tenant.name}'s Dialogflow fulfillment."
  recovery_window_in_days = var.recovery_window_days
  tags                    = merge(local.tags, { townhall = "webhook-password" })
}

resource "aws_secretsmanager_secret_version" "webhook_password" {
  secret_id     = aws_secretsmanager_secret.webhook_password.id
  secret_string = random_password.webhook.result
}

# Upstream keys: empty containers the council fills; tagged upstream-key, the only secrets the
# webhook's role may read.
resource "aws_secretsmanager_secret" "upstream" {
  #checkov:skip=CKV_AWS_149:encrypted with the account's Secrets Manager key; access is limited by the webhook role's tag condition
  #checkov:skip=CKV2_AWS_57:keys issued by GOV.UK Pay, Notify and the councils' suppliers cannot be rotated by AWS; councils rotate them with their issuer
  for_each = local.upstream_keys

  name                    = "${local.secret_prefix}-${each.key}"
  description             = "Townhall: ${each.key} of ${var.tenant.name}."
  recovery_window_in_days = var.recovery_window_days
  tags                    = merge(local.tags, { townhall = "upstream-key" })
}
