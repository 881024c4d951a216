variable "source_zip" {
  description = "Path of the Lambda package zip (infra/aws/scripts/bundle.py writes build/lambda.zip)."
  type        = string
}

variable "function" {
  description = "Sizing of the webhook function: memory in MB, timeout in seconds, reserved concurrency (null: the account's pool), log retention in days."
  type = object({
    memory_mb          = optional(number, 512)
    timeout_seconds    = optional(number, 10)
    reserved           = optional(number)
    log_retention_days = optional(number, 30)
  })
  default = {}
}

variable "alarm_topic_arns" {
  description = "SNS topic ARNs every alarm notifies; empty: the alarms only show in CloudWatch."
  type        = list(string)
  default     = []
}

variable "names" {
  description = "Names of the function and the two tables (the runtime reads the tables' from its environment)."
  type = object({
    function     = optional(string, "townhall-webhook")
    tenants      = optional(string, "townhall-tenants")
    side_effects = optional(string, "townhall-side-effects")
  })
  default = {}
}
