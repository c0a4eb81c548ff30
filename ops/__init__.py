"""The operator tool (``mailgate ops``): tenants, API keys, dead-letter queues, the audit trail
and bulk re-delivery, against the local gateway or a deployed region."""
