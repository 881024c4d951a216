# Values are validated where they are used, in modules/platform and modules/tenant; the root
# validates only what it alone takes.

variable "platform_project" {
  description = "Google Cloud project that runs the webhook and holds the Firestore settings and every tenant's secrets."
  type        = string
}

variable "region" {
  description = "Region of the webhook function, its bundle bucket and its secrets' replicas: a UK or EU region."
  type        = string
  default     = "europe-west2"
}

variable "firestore_location" {
  description = "Location of the Firestore database of tenant settings: a UK or EU location. It cannot change once the database exists."
  type        = string
  default     = "europe-west2"
}

variable "function_source_zip" {
  description = "Path of the webhook bundle zip made by `make bundle`; null means build/function.zip at the top of the repository."
  type        = string
  default     = null
}

variable "include_demo_tenants" {
  description = "Also deploy tenant files marked `demo: true` (their projects are made up: only for a platform that owns them)."
  type        = bool
  default     = false
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
}

variable "alert_notification_channels" {
  description = "Cloud Monitoring notification channels (ids) that receive the webhook's alerts."
  type        = list(string)
  default     = []
}

variable "alerts_enabled" {
  description = "Create the alert policies on the log-based turn metric. False for a fresh platform's first apply: a new metric takes up to ten minutes to be visible to alert policies (docs/operations.md, \"First apply\")."
  type        = bool
  default     = true
}

variable "secret_adders" {
  description = "Per tenant id, the members (e.g. group:digital@council.example) who may add versions to that council's upstream key secrets."
  type        = map(list(string))
  default     = {}

  validation {
    condition     = alltrue([for id in keys(var.secret_adders) : can(regex("^[a-z][a-z0-9-]{1,38}[a-z0-9]$", id))])
    error_message = "secret_adders keys must be tenant ids (the names of files in infra/tenants without .yaml)."
  }

  validation {
    condition     = alltrue(flatten([for members in values(var.secret_adders) : [for member in members : can(regex("^(user|group|serviceAccount|domain):.+$", member))]]))
    error_message = "secret_adders members must be IAM members such as group:digital@council.example or user:name@council.example."
  }
}
