variable "tenant" {
  description = "The council, as read from its tenant file: id, name, GSS code and languages."
  type = object({
    id        = string
    name      = string
    gss_code  = string
    languages = list(string)
  })

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{1,38}[a-z0-9]$", var.tenant.id))
    error_message = "tenant.id must be 3 to 40 lower-case letters, digits or hyphens, starting with a letter and not ending with a hyphen (it is the tenant file's name)."
  }

  validation {
    condition     = can(regex("^(E0[6-9]|W06|S12|N09)[0-9]{6}$", var.tenant.gss_code))
    error_message = "tenant.gss_code must be an ONS local authority district code: E06, E07, E08, E09, W06, S12 or N09 and six digits (e.g. E07000178)."
  }
}

variable "recovery_window_days" {
  description = "Days a deleted secret can still be restored (0 deletes at once; 7 to 30 otherwise)."
  type        = number
  default     = 7
}
