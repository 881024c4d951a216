# Townhall on AWS: the shared platform once, and the tenant module once per council file.
#
# The same infra/tenants/<id>.yaml files as on Google Cloud feed for_each: adding a council is
# adding a file. Each council's Dialogflow agent stays on Google Cloud and calls the Function URL
# (townhall agent deploy --webhook-url, docs/aws.md).

locals {
  tenant_files = fileset("${path.module}/../tenants", "*.yaml")

  all_tenants = {
    for file in local.tenant_files :
    trimsuffix(file, ".yaml") => yamldecode(file("${path.module}/../tenants/${file}"))
  }

  tenants = {
    for id, doc in local.all_tenants : id => doc
    if var.include_demo_tenants || !try(doc.demo, false)
  }

  source_zip = coalesce(var.source_zip, "${path.root}/../../build/lambda.zip")
}

module "platform" {
  source = "./modules/platform"

  source_zip       = local.source_zip
  function         = var.function
  alarm_topic_arns = var.alarm_topic_arns
}

module "tenant" {
  source   = "./modules/tenant"
  for_each = local.tenants

  tenant = {
    id        = each.value.id
    name      = each.value.name
    gss_code  = each.value.gss_code
    languages = each.value.languages
  }
}
