variable "project" {
  description = "Google Cloud project of the platform: the webhook function, Firestore settings, bundles and tenants' secrets."
  type        = string

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{4,28}[a-z0-9]$", var.project))
    error_message = "project must be a Google Cloud project id: 6 to 30 lower-case letters, digits or hyphens, starting with a letter."
  }
}

variable "region" {
  description = "Region of the webhook function and its bundle bucket: a UK or EU region."
  type        = string
  default     = "europe-west2"

  validation {
    condition     = can(regex("^europe-[a-z]+[0-9]+$", var.region))
    error_message = "region must be a European region such as europe-west2 (London)."
  }
}

variable "firestore_location" {
  description = "Location of the Firestore database of tenant settings: eur3 or a European region. It cannot change later."
  type        = string
  default     = "europe-west2"

  validation {
    condition     = var.firestore_location == "eur3" || can(regex("^europe-[a-z]+[0-9]+$", var.firestore_location))
    error_message = "firestore_location must be eur3 (EU multi-region) or a European region such as europe-west2 (London)."
  }
}

variable "source_zip" {
  description = "Path of the webhook bundle zip (functions + library + pinned requirements, made by `make bundle`)."
  type        = string

  validation {
    condition     = endswith(var.source_zip, ".zip")
    error_message = "source_zip must be the .zip made by `make bundle` (build/function.zip)."
  }
}

variable "function" {
  description = "Sizing of the webhook function: instances, requests per instance and memory."
  type = object({
    min_instances = optional(number, 0)
    max_instances = optional(number, 20)
    concurrency   = optional(number, 20)
    memory        = optional(string, "512Mi")
  })
  default = {}

  validation {
    condition     = var.function.max_instances >= 1 && var.function.min_instances >= 0 && var.function.min_instances <= var.function.max_instances
    error_message = "function: need 0 <= min_instances <= max_instances and max_instances >= 1."
  }

  validation {
    condition     = var.function.concurrency >= 1 && var.function.concurrency <= 1000
    error_message = "function.concurrency (requests one instance serves at once) must be between 1 and 1000."
  }

  validation {
    condition     = can(regex("^[0-9]+(Mi|Gi)$", var.function.memory))
    error_message = "function.memory must be like 512Mi or 1Gi."
  }
}

variable "alert_notification_channels" {
  description = "Cloud Monitoring notification channel ids that receive the webhook's alerts."
  type        = list(string)
  default     = []

  validation {
    condition     = alltrue([for channel in var.alert_notification_channels : can(regex("^projects/[^/]+/notificationChannels/[^/]+$", channel))])
    error_message = "Each alert notification channel must be an id like projects/<project>/notificationChannels/<number> (gcloud beta monitoring channels list)."
  }
}

variable "alerts_enabled" {
  description = "Create the alert policies on the log-based turn metric; false on a fresh platform's first apply, as a new metric takes up to ten minutes to be visible to alert policies."
  type        = bool
  default     = true
}

# -- The residents' chat gateway (chat.tf) -------------------------------------------------------------

variable "chat" {
  description = "Sizing and rate limits of the chat gateway function: instances, requests per instance, memory, and the rates per conversation and per client address (N/S: N requests per S seconds, per instance)."
  type = object({
    min_instances = optional(number, 0)
    max_instances = optional(number, 20)
    concurrency   = optional(number, 40)
    memory        = optional(string, "512Mi")
    session_rate  = optional(string, "20/60")
    ip_rate       = optional(string, "120/60")
  })
  default = {}

  validation {
    condition     = var.chat.max_instances >= 1 && var.chat.min_instances >= 0 && var.chat.min_instances <= var.chat.max_instances && var.chat.concurrency >= 1 && var.chat.concurrency <= 1000
    error_message = "chat: need 0 <= min_instances <= max_instances, max_instances >= 1 and concurrency between 1 and 1000."
  }

  validation {
    condition     = can(regex("^[0-9]+/[0-9]+$", var.chat.session_rate)) && can(regex("^[0-9]+/[0-9]+$", var.chat.ip_rate)) && can(regex("^[0-9]+(Mi|Gi)$", var.chat.memory))
    error_message = "chat.session_rate and chat.ip_rate are N/S (e.g. 20/60: 20 requests a minute); chat.memory like 512Mi."
  }
}
