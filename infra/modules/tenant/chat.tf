# The residents' chat gateway asks this council's agent (detectIntent) as the platform's chat
# service account: Dialogflow API Client on the council's agent project, nothing more. The pages
# allowed to embed the widget are the tenant file's chat.origins, which the gateway reads from the
# council's settings (no Terraform resource).

resource "google_project_iam_member" "chat_asks_agent" {
  project = var.tenant.project
  role    = "roles/dialogflow.client"
  member  = "serviceAccount:${var.chat_service_account}"

  depends_on = [google_project_service.apis]
}
