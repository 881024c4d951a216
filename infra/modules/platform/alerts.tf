# Alerts on the webhook. Each one's meaning and what to do is in docs/operations.md ("Alerts").
#
# The webhook writes one JSON log line per turn (message "turn", with tenant and outcome); the
# log-based metric below counts them by outcome and tenant. The outcomes are the values of
# functions/townhall/outcomes.py's Outcome, where each names the turn alert below that counts it
# (a test keeps the two in step). The upstream outcomes (upstream_failed, upstream_refused,
# secret_missing, side_effect_unknown) are turns the resident got a polite answer to while an
# upstream or its secret failed. Not alerting: ok; method_not_allowed, unsupported_media_type
# and too_large (refused before any credential is read: anyone on the internet can cause them);
# process_disabled (a council switched a process off and its agent still has the intents until
# its next deploy).

locals {
  turn_metric = "logging.googleapis.com/user/${google_logging_metric.turns.name}"
  runbook     = "docs/operations.md in the Townhall repository, section Alerts"

  turn_alerts = {
    failures = {
      title     = "Townhall: process failures or timeouts"
      outcomes  = ["handler_error", "timeout", "render_error", "runtime_error"]
      threshold = 5
      period    = "300s"
      meaning   = "More than 5 turns in 5 minutes for one council ended in a process failure or timeout: residents got the apology with the council's contact details."
      group_by  = ["metric.label.tenant"]
    }
    settings = {
      title     = "Townhall: council settings invalid or unavailable"
      outcomes  = ["settings_invalid", "settings_unavailable"]
      threshold = 0
      period    = "300s"
      meaning   = "A council's residents are getting the generic reply: its settings in Firestore are invalid, or Firestore cannot be read."
      group_by  = ["metric.label.tenant"]
    }
    credentials = {
      title     = "Townhall: webhook credentials rejected"
      outcomes  = ["unauthenticated", "forbidden"]
      threshold = 10
      period    = "600s"
      meaning   = "More than 10 requests in 10 minutes were refused (401/403), over all tenants: a refused request names no tenant in its log line (the credential opened none), so the count is not per council. Usually a webhook secret and its hash out of step after a rotation, else someone probing the webhook."
      group_by  = []
    }
    upstreams = {
      title     = "Townhall: upstream services failing"
      outcomes  = ["upstream_failed"]
      threshold = 5
      period    = "300s"
      meaning   = "More than 5 turns in 5 minutes for one council met an upstream service (Open311, GOV.UK Pay, Notify, postcodes.io, a bins feed) that timed out, could not be reached, answered 5xx or 429, or was resting behind its circuit breaker: residents got the process's fallback with the council's contact details. The WARNING lines \"upstream failed\" name the host and status class."
      group_by  = ["metric.label.tenant"]
    }
    configuration = {
      title     = "Townhall: upstream refusing requests or a secret missing"
      outcomes  = ["upstream_refused", "secret_missing"]
      threshold = 0
      period    = "300s"
      meaning   = "A council's upstream refused a request permanently (a bad API key, an unknown service code, a required attribute the settings cannot fill) or a secret its settings name is not set: every resident asking that process gets the fallback until the settings or the secret are fixed. The ERROR lines \"upstream refused\" or \"upstream secret missing\" name the host or secret."
      group_by  = ["metric.label.tenant"]
    }
    unknown_side_effects = {
      title     = "Townhall: reports or payments whose answer never came"
      outcomes  = ["side_effect_unknown"]
      threshold = 0
      period    = "300s"
      meaning   = "A report, payment or message was sent but the upstream's answer never came within the turn: it may have been made. It is never re-sent blindly; the resident was told to wait for the council's email or to check before trying again. Check the upstream for the request and the upstream's latency."
      group_by  = ["metric.label.tenant"]
    }
    mismatch = {
      title     = "Townhall: agent and webhook out of step"
      outcomes  = ["bad_request", "unknown_intent"]
      threshold = 10
      period    = "600s"
      meaning   = "More than 10 turns in 10 minutes for one council came with its own credential but could not be served: a request the webhook cannot read (400), or an intent no process in the deployed library declares (the council got the menu)."
      group_by  = ["metric.label.tenant"]
    }
  }
}

resource "google_logging_metric" "turns" {
  project = var.project
  name    = "townhall-turns"
  filter  = "resource.type=\"cloud_run_revision\" AND resource.labels.service_name=\"${local.function_name}\" AND jsonPayload.message=\"turn\""

  metric_descriptor {
    metric_kind  = "DELTA"
    value_type   = "INT64"
    unit         = "1"
    display_name = "Townhall turns"

    labels {
      key         = "outcome"
      value_type  = "STRING"
      description = "The turn's outcome: a value of Outcome in functions/townhall/outcomes.py (ok, unauthenticated, handler_error, timeout, settings_invalid, ...)."
    }

    labels {
      key         = "tenant"
      value_type  = "STRING"
      description = "Tenant id (empty when the request named none)."
    }
  }

  label_extractors = {
    outcome = "EXTRACT(jsonPayload.outcome)"
    tenant  = "EXTRACT(jsonPayload.tenant)"
  }

  depends_on = [google_project_service.apis]
}

# Alerts on turns, from the metric above: per council (but credentials, whose refused requests
# name no tenant), so one council's trouble names it. A new log-based metric takes up to ten
# minutes to be visible to alert policies (creating one before answers 404 "Cannot find metric"),
# so a fresh platform's first apply runs with alerts_enabled = false and the next with true
# (docs/operations.md, "First apply").
resource "google_monitoring_alert_policy" "turns" {
  for_each = var.alerts_enabled ? local.turn_alerts : {}

  project               = var.project
  display_name          = each.value.title
  combiner              = "OR"
  notification_channels = var.alert_notification_channels

  conditions {
    display_name = "${join(", ", each.value.outcomes)} turns, per council"

    condition_threshold {
      filter          = "metric.type=\"${local.turn_metric}\" AND resource.type=\"cloud_run_revision\" AND metric.label.outcome=one_of(${join(", ", formatlist("\"%s\"", each.value.outcomes))})"
      comparison      = "COMPARISON_GT"
      threshold_value = each.value.threshold
      duration        = "0s"

      aggregations {
        alignment_period     = each.value.period
        per_series_aligner   = "ALIGN_DELTA"
        cross_series_reducer = "REDUCE_SUM"
        group_by_fields      = each.value.group_by
      }
    }
  }

  documentation {
    content   = "${each.value.meaning} See ${local.runbook}."
    mime_type = "text/markdown"
  }

  depends_on = [google_project_service.apis]
}

resource "google_monitoring_alert_policy" "server_errors" {
  project               = var.project
  display_name          = "Townhall: webhook answered 5xx"
  combiner              = "OR"
  notification_channels = var.alert_notification_channels

  conditions {
    display_name = "any 5xx from the webhook's service"

    condition_threshold {
      filter          = "metric.type=\"run.googleapis.com/request_count\" AND resource.type=\"cloud_run_revision\" AND resource.label.service_name=\"${local.function_name}\" AND metric.label.response_code_class=\"5xx\""
      comparison      = "COMPARISON_GT"
      threshold_value = 0
      duration        = "0s"

      aggregations {
        alignment_period     = "300s"
        per_series_aligner   = "ALIGN_DELTA"
        cross_series_reducer = "REDUCE_SUM"
      }
    }
  }

  documentation {
    content   = "The webhook answers 5xx itself only with a JSON 503 when no tenant index was ever loaded (outcome credentials_unverifiable: the settings store unreadable since the instance started); otherwise these come from the platform: instances crashing, out of memory, failing to start, or no instance available. Dialogflow then gives residents the intents' static answers. See ${local.runbook}."
    mime_type = "text/markdown"
  }

  depends_on = [google_project_service.apis]
}

resource "google_monitoring_alert_policy" "latency" {
  project               = var.project
  display_name          = "Townhall: slow turns"
  combiner              = "OR"
  notification_channels = var.alert_notification_channels

  conditions {
    display_name = "95th percentile request latency over 3 s for 10 minutes"

    condition_threshold {
      filter          = "metric.type=\"run.googleapis.com/request_latencies\" AND resource.type=\"cloud_run_revision\" AND resource.label.service_name=\"${local.function_name}\""
      comparison      = "COMPARISON_GT"
      threshold_value = 3000
      duration        = "600s"

      aggregations {
        alignment_period     = "300s"
        per_series_aligner   = "ALIGN_PERCENTILE_95"
        cross_series_reducer = "REDUCE_MAX"
      }
    }
  }

  documentation {
    content   = "Turns are getting close to Dialogflow's 5 s deadline (the webhook's own budget is 4 s): an upstream service is slow, cold starts are frequent, or instances are saturated. See ${local.runbook}."
    mime_type = "text/markdown"
  }

  depends_on = [google_project_service.apis]
}

# -- The residents' chat gateway (chat.tf): answers degraded because the council's agent failed ----
# The gateway writes one `chat` line per request with its outcome (townhall/outcomes.py,
# ChatOutcome); this alert counts those whose detectIntent call failed or was refused.

resource "google_monitoring_alert_policy" "townhall_chat" {
  project               = var.project
  display_name          = "Townhall: chat answers degraded"
  combiner              = "OR"
  notification_channels = var.alert_notification_channels

  conditions {
    display_name = "dialogflow_failed or dialogflow_refused chat lines"

    condition_matched_log {
      filter = "resource.type=\"cloud_run_revision\" AND resource.labels.service_name=\"${local.chat_function_name}\" AND jsonPayload.message=\"chat\" AND jsonPayload.outcome=(\"dialogflow_failed\" OR \"dialogflow_refused\")"
      label_extractors = {
        tenant  = "EXTRACT(jsonPayload.tenant)"
        outcome = "EXTRACT(jsonPayload.outcome)"
      }
    }
  }

  alert_strategy {
    notification_rate_limit {
      period = "300s"
    }
    auto_close = "1800s"
  }

  documentation {
    content   = "Residents chatting on a council's website got the apology with its contact details instead of the agent's answer: detectIntent failed (timeout, 5xx, 429) or was refused (401/403/404: the chat account lacks roles/dialogflow.client, or no agent). The chat lines' tenant and the WARNING/ERROR lines \"detectIntent failed\" say which council and how. See ${local.runbook}."
    mime_type = "text/markdown"
  }

  depends_on = [google_project_service.apis]
}
