# Terraform and provider versions for the whole deployment. The modules repeat the same
# constraints so that each can be planned on its own (see the modules' README.md).
terraform {
  required_version = ">= 1.9.0, < 2.0.0"

  required_providers {
    google = {
      source  = "hashicorp/google"
      version = "~> 7.0"
    }
    random = {
      source  = "hashicorp/random"
      version = "~> 3.7"
    }
  }

  # State lives in a Cloud Storage bucket made once by hand (README.md, "State bucket"). Its name
  # is given at init time: terraform init -backend-config="bucket=<state bucket>"
  backend "gcs" {
    prefix = "townhall"
  }
}
