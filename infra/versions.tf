# Terraform and provider versions for the whole deployment. The modules repeat the same
# constraints so that each can be planned on its own (see the modules' README.md). The providers
# are pinned to one minor release: the schemas in infra/testing/schema/ (google-7.45.0.json,
# random-3.7.2.json) are what `make test` checks the configuration against, so moving a pin means
# re-extracting them (infra/testing/README.md).
terraform {
  required_version = ">= 1.9.0, < 2.0.0"

  required_providers {
    google = {
      source  = "hashicorp/google"
      version = "~> 7.45.0"
    }
    random = {
      source  = "hashicorp/random"
      version = "~> 3.7.2"
    }
  }

  # State lives in a Cloud Storage bucket made once by hand (README.md, "State bucket"). Its name
  # is given at init time: terraform init -backend-config="bucket=<state bucket>"
  backend "gcs" {
    prefix = "townhall"
  }
}
