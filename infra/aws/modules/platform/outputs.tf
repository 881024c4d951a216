output "webhook_url" {
  description = "The webhook's Function URL (https), which every council's Dialogflow fulfillment calls."
  value       = aws_lambda_function_url.webhook.function_url
}

output "function_name" {
  description = "Name of the webhook's Lambda function."
  value       = aws_lambda_function.webhook.function_name
}

output "role_arn" {
  description = "ARN of the role the webhook runs as."
  value       = aws_iam_role.webhook.arn
}

output "tables" {
  description = "Names of the tenants table and the side-effect records table."
  value = {
    tenants      = aws_dynamodb_table.tenants.name
    side_effects = aws_dynamodb_table.side_effects.name
  }
}
