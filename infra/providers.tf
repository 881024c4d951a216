# One google provider for every project. Each council's agent lives in the council's own project:
# every resource sets `project` itself, and user_project_override makes the provider send that
# project as the quota and billing project of each call (instead of the project the deploy
# credentials belong to). That is what one provider alias per council would otherwise be for, and
# Terraform cannot create a provider per for_each instance. README.md, "One provider", explains.
provider "google" {
  project               = var.platform_project
  region                = var.region
  user_project_override = true

  default_labels = {
    app        = "townhall"
    managed-by = "terraform"
  }
}
