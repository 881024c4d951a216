#!/bin/sh
# Cloud Build step "terraform": copy the Terraform binary of the pinned hashicorp/terraform image
# into the workspace (.tools/terraform), where the later steps, in other images, find it.
# POSIX sh: the hashicorp/terraform image has no bash.
set -eu
mkdir -p .tools
cp "$(command -v terraform)" .tools/terraform
.tools/terraform version
