variable "tenant" {
  description = "The council, as read from its tenant file: id, name, GSS code, languages and the project of its Dialogflow agent."
  type = object({
    id              = string
    name            = string
    gss_code        = string
    languages       = list(string)
    project         = string
    location        = optional(string)
    edition         = optional(string, "essentials")
    deletion_policy = optional(string, "abandon")
  })

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{1,38}[a-z0-9]$", var.tenant.id))
    error_message = "tenant.id must be 3 to 40 lower-case letters, digits or hyphens, starting with a letter and not ending with a hyphen (it is the tenant file's name)."
  }

  validation {
    condition     = can(regex("^(E0[6-9]|W06|S12|N09)[0-9]{6}$", var.tenant.gss_code))
    error_message = "tenant.gss_code must be an ONS local authority district code: E06, E07, E08, E09, W06, S12 or N09 and six digits (e.g. E07000178)."
  }

  validation {
    condition     = length(var.tenant.languages) > 0 && var.tenant.languages[0] == "en" && alltrue([for language in var.tenant.languages : contains(["en", "cy"], language)])
    error_message = "tenant.languages must start with en and may add cy (Welsh): [en] or [en, cy]."
  }

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{4,28}[a-z0-9]$", var.tenant.project))
    error_message = "tenant.project (dialogflow.project in the tenant file) must be a Google Cloud project id."
  }

  validation {
    condition     = var.tenant.location == null || var.tenant.location == "global"
    error_message = "dialogflow.location: google_dialogflow_agent only makes global ES agents; remove location from the tenant file, or create the regional agent by hand and leave this council out of Terraform."
  }

  validation {
    condition     = contains(["essentials", "trial"], var.tenant.edition)
    error_message = "dialogflow.edition must be essentials (production quotas, the default) or trial (Dialogflow ES's trial edition, low quotas)."
  }

  validation {
    condition     = contains(["abandon", "delete", "prevent"], var.tenant.deletion_policy)
    error_message = "dialogflow.deletion_policy must be abandon (keep the agent when the tenant file is removed, the default), delete or prevent."
  }
}

variable "agent" {
  description = "Settings of every council's Dialogflow agent shared with `townhall agent build`: infra/agent-settings.json, read by the root."
  type = object({
    language                 = string
    time_zone                = string
    display_name             = string
    description              = string
    classification_threshold = number
    interaction_logging      = bool
    tiers                    = map(string)
  })

  validation {
    condition     = var.agent.classification_threshold >= 0 && var.agent.classification_threshold <= 1
    error_message = "agent.classification_threshold (infra/agent-settings.json) must be between 0 and 1."
  }
}

variable "platform" {
  description = "The shared platform: its project and region (where the tenant's secrets live), the webhook URL and the webhook's service account."
  type = object({
    project                 = string
    region                  = string
    webhook_url             = string
    webhook_service_account = string
  })

  validation {
    condition     = startswith(var.platform.webhook_url, "https://")
    error_message = "platform.webhook_url must be https: Dialogflow only calls https fulfillment."
  }
}

variable "secret_adders" {
  description = "Members (e.g. group:digital@council.example) who may add versions to this council's upstream key secrets, but not read them."
  type        = list(string)
  default     = []
}

# -- The residents' chat gateway (chat.tf) -------------------------------------------------------------

variable "chat_service_account" {
  description = "Email of the platform's chat gateway service account (platform output chat_service_account_email), granted roles/dialogflow.client on the council's agent project."
  type        = string
}
