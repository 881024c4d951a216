# Alarms on the webhook. Each one's meaning and what to do is in docs/operations.md ("Alerts"):
# the same alarms as the Google platform's alerts (infra/modules/platform/alerts.tf).
#
# The webhook writes one JSON log line per turn (message "turn", with tenant and outcome). A metric
# filter per alarm below counts the turns whose outcome it watches; the outcomes are the values of
# functions/townhall/outcomes.py's Outcome, each naming the alarm (alert) that counts it, and
# tests/test_aws_infra.py keeps the two in step. Not alarming, as on Google Cloud: ok,
# method_not_allowed, unsupported_media_type, too_large, unreadable_body, process_disabled, busy,
# late. CloudWatch sums over every council; the Logs Insights query in docs/aws.md splits a count
# by council.

locals {
  namespace = "Townhall"

  turn_alarms = {
    failures = {
      title     = "Townhall: process failures or timeouts"
      outcomes  = ["handler_error", "timeout", "render_error", "runtime_error"]
      threshold = 5
      period    = 300
    }
    settings = {
      title     = "Townhall: council settings invalid or unavailable"
      outcomes  = ["settings_invalid", "settings_unavailable"]
      threshold = 0
      period    = 300
    }
    credentials = {
      title     = "Townhall: webhook credentials rejected"
      outcomes  = ["unauthenticated", "forbidden"]
      threshold = 10
      period    = 600
    }
    upstreams = {
      title     = "Townhall: upstream services failing"
      outcomes  = ["upstream_failed"]
      threshold = 5
      period    = 300
    }
    configuration = {
      title     = "Townhall: upstream refusing requests or a secret missing"
      outcomes  = ["upstream_refused", "secret_missing"]
      threshold = 0
      period    = 300
    }
    unknown_side_effects = {
      title     = "Townhall: reports or payments whose answer never came"
      outcomes  = ["side_effect_unknown"]
      threshold = 0
      period    = 300
    }
    mismatch = {
      title     = "Townhall: agent and webhook out of step"
      outcomes  = ["bad_request", "unknown_intent"]
      threshold = 10
      period    = 600
    }
  }
}

resource "aws_cloudwatch_log_metric_filter" "turns" {
  for_each = local.turn_alarms

  name           = "townhall-turns-${each.key}"
  log_group_name = aws_cloudwatch_log_group.webhook.name
  pattern        = "{ $.message = \"turn\" && (${join(" || ", [for outcome in each.value.outcomes : "$.outcome = \"${outcome}\""])}) }"

  metric_transformation {
    name          = "turns-${each.key}"
    namespace     = local.namespace
    value         = "1"
    default_value = "0"
  }
}

resource "aws_cloudwatch_metric_alarm" "turns" {
  for_each = local.turn_alarms

  alarm_name          = each.value.title
  alarm_description   = "Outcomes ${join(", ", each.value.outcomes)}: see docs/operations.md, Alerts."
  namespace           = local.namespace
  metric_name         = aws_cloudwatch_log_metric_filter.turns[each.key].metric_transformation[0].name
  statistic           = "Sum"
  period              = each.value.period
  evaluation_periods  = 1
  threshold           = each.value.threshold
  comparison_operator = "GreaterThanThreshold"
  treat_missing_data  = "notBreaching"
  alarm_actions       = var.alarm_topic_arns
  ok_actions          = var.alarm_topic_arns
}

# The function itself failing (an invocation that raised or timed out: the runtime never answers
# that way, so any is a deployment fault), and turns slower than Dialogflow waits for.
resource "aws_cloudwatch_metric_alarm" "errors" {
  alarm_name          = "Townhall: webhook invocations failing"
  alarm_description   = "Lambda Errors > 0 in 5 minutes: a crash, a timeout or a broken package; see docs/aws.md."
  namespace           = "AWS/Lambda"
  metric_name         = "Errors"
  dimensions          = { FunctionName = aws_lambda_function.webhook.function_name }
  statistic           = "Sum"
  period              = 300
  evaluation_periods  = 1
  threshold           = 0
  comparison_operator = "GreaterThanThreshold"
  treat_missing_data  = "notBreaching"
  alarm_actions       = var.alarm_topic_arns
  ok_actions          = var.alarm_topic_arns
}

resource "aws_cloudwatch_metric_alarm" "latency" {
  alarm_name          = "Townhall: webhook turns near Dialogflow's deadline"
  alarm_description   = "p99 duration over 4 s for 15 minutes: Dialogflow gives up at 5 s; see docs/aws.md."
  namespace           = "AWS/Lambda"
  metric_name         = "Duration"
  dimensions          = { FunctionName = aws_lambda_function.webhook.function_name }
  extended_statistic  = "p99"
  period              = 300
  evaluation_periods  = 3
  threshold           = 4000
  comparison_operator = "GreaterThanThreshold"
  treat_missing_data  = "notBreaching"
  alarm_actions       = var.alarm_topic_arns
  ok_actions          = var.alarm_topic_arns
}
