# Terraform and provider versions of the AWS deployment. The modules repeat the same constraints so
# that each can be planned on its own.
terraform {
  required_version = ">= 1.9.0, < 2.0.0"

  required_providers {
    aws = {
      source  = "hashicorp/aws"
      version = "~> 6.0"
    }
    random = {
      source  = "hashicorp/random"
      version = "~> 3.7"
    }
  }

  # State lives in an S3 bucket made once by hand (docs/aws.md, "Deploy"). Its name and region are
  # given at init time: terraform init -backend-config="bucket=<state bucket>" -backend-config="region=eu-west-2"
  backend "s3" {
    key          = "townhall/aws.tfstate"
    encrypt      = true
    use_lockfile = true
  }
}
