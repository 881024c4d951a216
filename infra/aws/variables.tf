variable "region" {
  description = "AWS region of the webhook, its tables and the councils' secrets (London by default)."
  type        = string
  default     = "eu-west-2"

  validation {
    condition     = can(regex("^[a-z]{2}(-[a-z]+)+-[0-9]$", var.region))
    error_message = "region must be an AWS region name such as eu-west-2."
  }
}

variable "source_zip" {
  description = "The Lambda package (infra/aws/scripts/bundle.py): null means build/lambda.zip beside the repository's infra folder."
  type        = string
  default     = null
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

  validation {
    condition     = var.function.timeout_seconds >= 6 && var.function.timeout_seconds <= 60
    error_message = "function.timeout_seconds must be 6 to 60: a turn has up to 4 s (Dialogflow waits 5) and the function must outlast it."
  }
}

variable "alarm_topic_arns" {
  description = "SNS topic ARNs the alarms notify (e-mail, chat); empty: the alarms only show in CloudWatch."
  type        = list(string)
  default     = []
}

variable "include_demo_tenants" {
  description = "Deploy the demo tenants (demo: true in their file) too, e.g. on a staging platform."
  type        = bool
  default     = false
}
