# The shared platform on AWS: the webhook (Lambda behind a Function URL), the tenants table it reads,
# the side-effect records table it writes, its role, its logs and alarms (alarms.tf).

data "aws_caller_identity" "current" {}
data "aws_region" "current" {}
data "aws_partition" "current" {}

locals {
  account   = data.aws_caller_identity.current.account_id
  region    = data.aws_region.current.region
  partition = data.aws_partition.current.partition
  log_group = "/aws/lambda/${var.names.function}"
}

# -- the tables ------------------------------------------------------------------------------------

# One item per council (id = tenant id, settings = its validated document as JSON) and the tenant
# index item (#tenant-index), written by `townhall settings push --backend dynamodb`.
resource "aws_dynamodb_table" "tenants" {
  #checkov:skip=CKV_AWS_119:encrypted at rest with the AWS-owned key; a customer key adds cost and a key policy for no data that is not already public or hashed
  name                        = var.names.tenants
  billing_mode                = "PAY_PER_REQUEST"
  hash_key                    = "id"
  deletion_protection_enabled = true

  attribute {
    name = "id"
    type = "S"
  }

  point_in_time_recovery {
    enabled = true
  }

  server_side_encryption {
    enabled = true
  }
}

# Once-only side-effect records (key = SHA-256 of the side effect's key): the only table the webhook
# writes. DynamoDB deletes a record after expire_at (the runtime also checks it).
resource "aws_dynamodb_table" "side_effects" {
  #checkov:skip=CKV_AWS_119:encrypted at rest with the AWS-owned key; records hold upstream references and results, no resident's words
  name                        = var.names.side_effects
  billing_mode                = "PAY_PER_REQUEST"
  hash_key                    = "key"
  deletion_protection_enabled = true

  attribute {
    name = "key"
    type = "S"
  }

  ttl {
    attribute_name = "expire_at"
    enabled        = true
  }

  point_in_time_recovery {
    enabled = true
  }

  server_side_encryption {
    enabled = true
  }
}

# -- the webhook's role: least privilege ---------------------------------------------------------------

data "aws_iam_policy_document" "assume" {
  statement {
    actions = ["sts:AssumeRole"]

    principals {
      type        = "Service"
      identifiers = ["lambda.amazonaws.com"]
    }
  }
}

resource "aws_iam_role" "webhook" {
  name               = var.names.function
  assume_role_policy = data.aws_iam_policy_document.assume.json
}

data "aws_iam_policy_document" "webhook" {
  statement {
    sid       = "ReadTenantSettings"
    actions   = ["dynamodb:GetItem", "dynamodb:Scan"]
    resources = [aws_dynamodb_table.tenants.arn]
  }

  statement {
    sid       = "WriteSideEffectRecords"
    actions   = ["dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:DeleteItem"]
    resources = [aws_dynamodb_table.side_effects.arn]
  }

  # Only the councils' upstream keys: secrets tagged townhall = upstream-key (the tenant module tags
  # them; the webhook passwords are tagged webhook-password and stay out of reach).
  statement {
    sid       = "ReadUpstreamSecrets"
    actions   = ["secretsmanager:GetSecretValue"]
    resources = ["arn:${local.partition}:secretsmanager:${local.region}:${local.account}:secret:townhall-*"]

    condition {
      test     = "StringEquals"
      variable = "secretsmanager:ResourceTag/townhall"
      values   = ["upstream-key"]
    }
  }

  statement {
    sid       = "WriteOwnLogs"
    actions   = ["logs:CreateLogStream", "logs:PutLogEvents"]
    resources = ["${aws_cloudwatch_log_group.webhook.arn}:*"]
  }
}

resource "aws_iam_role_policy" "webhook" {
  name   = "townhall-webhook"
  role   = aws_iam_role.webhook.id
  policy = data.aws_iam_policy_document.webhook.json
}

# -- the function and its URL ------------------------------------------------------------------------

resource "aws_cloudwatch_log_group" "webhook" {
  #checkov:skip=CKV_AWS_158:CloudWatch encrypts logs at rest by default; the runtime redacts personal data before it logs (docs/architecture.md, Logs)
  name              = local.log_group
  retention_in_days = var.function.log_retention_days
}

resource "aws_lambda_function" "webhook" {
  #checkov:skip=CKV_AWS_116:invoked synchronously through its Function URL: a dead-letter queue only receives asynchronous invocations
  #checkov:skip=CKV_AWS_117:calls public upstream APIs only and no private resource; a VPC would need a NAT gateway for each of them
  #checkov:skip=CKV_AWS_272:the package is built and deployed from reviewed commits by the operator's pipeline; code signing can be added there
  #checkov:skip=CKV_AWS_173:the environment holds table and backend names only, no secret
  #checkov:skip=CKV_AWS_50:every turn is logged with its latency and outcome; Dialogflow sends no trace header to continue
  function_name                  = var.names.function
  description                    = "Townhall webhook: every council's Dialogflow ES fulfillment (functions/lambda_main.py)."
  role                           = aws_iam_role.webhook.arn
  runtime                        = "python3.11"
  handler                        = "lambda_main.handler"
  architectures                  = ["x86_64"]
  filename                       = var.source_zip
  source_code_hash               = filebase64sha256(var.source_zip)
  memory_size                    = var.function.memory_mb
  timeout                        = var.function.timeout_seconds
  reserved_concurrent_executions = var.function.reserved

  environment {
    variables = {
      TOWNHALL_SETTINGS_BACKEND   = "dynamodb"
      TOWNHALL_SECRETS_BACKEND    = "secretsmanager"
      TOWNHALL_TENANTS_TABLE      = aws_dynamodb_table.tenants.name
      TOWNHALL_SIDE_EFFECTS_TABLE = aws_dynamodb_table.side_effects.name
      TOWNHALL_TURN_BUDGET        = "4.0"
    }
  }

  logging_config {
    log_format = "Text"
    log_group  = aws_cloudwatch_log_group.webhook.name
  }

  depends_on = [aws_iam_role_policy.webhook]
}

# Dialogflow calls it with HTTP Basic (checked by the runtime against each council's hash): it
# cannot sign AWS requests, so the URL itself is public, like the Cloud Function's.
resource "aws_lambda_function_url" "webhook" {
  #checkov:skip=CKV_AWS_258:Dialogflow cannot sign AWS requests; the runtime checks each council's HTTP Basic credential against its hash
  function_name      = aws_lambda_function.webhook.function_name
  authorization_type = "NONE"
  invoke_mode        = "BUFFERED"
}
