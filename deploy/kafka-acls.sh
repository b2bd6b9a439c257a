#!/bin/sh
# Made by `yidi keys acls` from agency-north.toml agency-south.toml exchange-110000.toml exchange-310000.toml exchange-330000.toml exchange-440000.toml hub.toml (do not edit: run it again).
# Gives an Apache Kafka cluster (SASL_SSL, StandardAuthorizer, allow.everyone.if.no.acl.found
# false) every yidi party's SCRAM-SHA-512 login, with the password `yidi keys init` made
# ($KEYS/<name>.broker-password), and its grants: each agency reads only the requests of the
# provinces it hosts, each exchange and HIS only their own province's topics.
#   BOOTSTRAP=kafka-1:9093 ADMIN_CONFIG=admin.properties KEYS=keys sh deploy/kafka-acls.sh
set -eu
: "${BOOTSTRAP:?}" "${ADMIN_CONFIG:?}" "${KEYS:?}"
login() {
    kafka-configs.sh --bootstrap-server "$BOOTSTRAP" --command-config "$ADMIN_CONFIG" --alter \
        --entity-type users --entity-name "$1" \
        --add-config "SCRAM-SHA-512=[password=$(cat "$KEYS/$1.broker-password")]"
}
grant() {
    kafka-acls.sh --bootstrap-server "$BOOTSTRAP" --command-config "$ADMIN_CONFIG" "$@"
}
login agency-north
login agency-south
login exchange-110000
login his-110000
login exchange-310000
login his-310000
login exchange-330000
login his-330000
login exchange-440000
login his-440000
login hub
login operator
grant --add --allow-principal User:agency-north --operation Read --topic agency.110000.requests --resource-pattern-type literal
grant --add --allow-principal User:agency-north --operation Read --topic agency.120000.requests --resource-pattern-type literal
grant --add --allow-principal User:agency-north --operation Read --group agency-110000-120000 --resource-pattern-type literal
grant --add --allow-principal User:agency-north --operation Write --topic deadletter --resource-pattern-type literal
grant --add --allow-principal User:agency-north --operation Write --topic filing --resource-pattern-type literal
grant --add --allow-principal User:agency-north --operation Write --topic hub.results --resource-pattern-type literal
grant --add --allow-principal User:agency-north --operation Write --topic hub.sanctions --resource-pattern-type literal
grant --add --allow-principal User:agency-north --operation Create --topic agency.110000.requests --resource-pattern-type literal
grant --add --allow-principal User:agency-north --operation Create --topic agency.120000.requests --resource-pattern-type literal
grant --add --allow-principal User:agency-north --operation Create --topic deadletter --resource-pattern-type literal
grant --add --allow-principal User:agency-north --operation Create --topic filing --resource-pattern-type literal
grant --add --allow-principal User:agency-north --operation Create --topic hub.results --resource-pattern-type literal
grant --add --allow-principal User:agency-north --operation Create --topic hub.sanctions --resource-pattern-type literal
grant --add --allow-principal User:agency-north --operation Describe --topic agency.110000.requests --resource-pattern-type literal
grant --add --allow-principal User:agency-north --operation Describe --topic agency.120000.requests --resource-pattern-type literal
grant --add --allow-principal User:agency-north --operation Describe --topic deadletter --resource-pattern-type literal
grant --add --allow-principal User:agency-north --operation Describe --topic filing --resource-pattern-type literal
grant --add --allow-principal User:agency-north --operation Describe --topic hub.results --resource-pattern-type literal
grant --add --allow-principal User:agency-north --operation Describe --topic hub.sanctions --resource-pattern-type literal
grant --add --allow-principal User:agency-south --operation Read --topic agency.310000.requests --resource-pattern-type literal
grant --add --allow-principal User:agency-south --operation Read --topic agency.440000.requests --resource-pattern-type literal
grant --add --allow-principal User:agency-south --operation Read --group agency-310000-440000 --resource-pattern-type literal
grant --add --allow-principal User:agency-south --operation Write --topic deadletter --resource-pattern-type literal
grant --add --allow-principal User:agency-south --operation Write --topic filing --resource-pattern-type literal
grant --add --allow-principal User:agency-south --operation Write --topic hub.results --resource-pattern-type literal
grant --add --allow-principal User:agency-south --operation Write --topic hub.sanctions --resource-pattern-type literal
grant --add --allow-principal User:agency-south --operation Create --topic agency.310000.requests --resource-pattern-type literal
grant --add --allow-principal User:agency-south --operation Create --topic agency.440000.requests --resource-pattern-type literal
grant --add --allow-principal User:agency-south --operation Create --topic deadletter --resource-pattern-type literal
grant --add --allow-principal User:agency-south --operation Create --topic filing --resource-pattern-type literal
grant --add --allow-principal User:agency-south --operation Create --topic hub.results --resource-pattern-type literal
grant --add --allow-principal User:agency-south --operation Create --topic hub.sanctions --resource-pattern-type literal
grant --add --allow-principal User:agency-south --operation Describe --topic agency.310000.requests --resource-pattern-type literal
grant --add --allow-principal User:agency-south --operation Describe --topic agency.440000.requests --resource-pattern-type literal
grant --add --allow-principal User:agency-south --operation Describe --topic deadletter --resource-pattern-type literal
grant --add --allow-principal User:agency-south --operation Describe --topic filing --resource-pattern-type literal
grant --add --allow-principal User:agency-south --operation Describe --topic hub.results --resource-pattern-type literal
grant --add --allow-principal User:agency-south --operation Describe --topic hub.sanctions --resource-pattern-type literal
grant --add --allow-principal User:exchange-110000 --operation Read --topic exchange.110000.hospitals --resource-pattern-type literal
grant --add --allow-principal User:exchange-110000 --operation Read --topic exchange.110000.results --resource-pattern-type literal
grant --add --allow-principal User:exchange-110000 --operation Read --topic exchange.110000.statements --resource-pattern-type literal
grant --add --allow-principal User:exchange-110000 --operation Read --topic filing --resource-pattern-type literal
grant --add --allow-principal User:exchange-110000 --operation Read --topic his.110000.discharge --resource-pattern-type literal
grant --add --allow-principal User:exchange-110000 --operation Read --group exchange-110000 --resource-pattern-type literal
grant --add --allow-principal User:exchange-110000 --operation Write --topic deadletter --resource-pattern-type literal
grant --add --allow-principal User:exchange-110000 --operation Write --topic his.110000.settlement --resource-pattern-type literal
grant --add --allow-principal User:exchange-110000 --operation Write --topic hub.requests --resource-pattern-type literal
grant --add --allow-principal User:exchange-110000 --operation Write --topic hub.statements --resource-pattern-type literal
grant --add --allow-principal User:exchange-110000 --operation Create --topic deadletter --resource-pattern-type literal
grant --add --allow-principal User:exchange-110000 --operation Create --topic exchange.110000.hospitals --resource-pattern-type literal
grant --add --allow-principal User:exchange-110000 --operation Create --topic exchange.110000.results --resource-pattern-type literal
grant --add --allow-principal User:exchange-110000 --operation Create --topic exchange.110000.statements --resource-pattern-type literal
grant --add --allow-principal User:exchange-110000 --operation Create --topic filing --resource-pattern-type literal
grant --add --allow-principal User:exchange-110000 --operation Create --topic his.110000.discharge --resource-pattern-type literal
grant --add --allow-principal User:exchange-110000 --operation Create --topic his.110000.settlement --resource-pattern-type literal
grant --add --allow-principal User:exchange-110000 --operation Create --topic hub.requests --resource-pattern-type literal
grant --add --allow-principal User:exchange-110000 --operation Create --topic hub.statements --resource-pattern-type literal
grant --add --allow-principal User:exchange-110000 --operation Describe --topic deadletter --resource-pattern-type literal
grant --add --allow-principal User:exchange-110000 --operation Describe --topic exchange.110000.hospitals --resource-pattern-type literal
grant --add --allow-principal User:exchange-110000 --operation Describe --topic exchange.110000.results --resource-pattern-type literal
grant --add --allow-principal User:exchange-110000 --operation Describe --topic exchange.110000.statements --resource-pattern-type literal
grant --add --allow-principal User:exchange-110000 --operation Describe --topic filing --resource-pattern-type literal
grant --add --allow-principal User:exchange-110000 --operation Describe --topic his.110000.discharge --resource-pattern-type literal
grant --add --allow-principal User:exchange-110000 --operation Describe --topic his.110000.settlement --resource-pattern-type literal
grant --add --allow-principal User:exchange-110000 --operation Describe --topic hub.requests --resource-pattern-type literal
grant --add --allow-principal User:exchange-110000 --operation Describe --topic hub.statements --resource-pattern-type literal
grant --add --allow-principal User:his-110000 --operation Read --topic his.110000.settlement --resource-pattern-type literal
grant --add --allow-principal User:his-110000 --operation Read --group his-110000. --resource-pattern-type prefixed
grant --add --allow-principal User:his-110000 --operation Write --topic his.110000.discharge --resource-pattern-type literal
grant --add --allow-principal User:his-110000 --operation Describe --topic his.110000.discharge --resource-pattern-type literal
grant --add --allow-principal User:his-110000 --operation Describe --topic his.110000.settlement --resource-pattern-type literal
grant --add --allow-principal User:exchange-310000 --operation Read --topic exchange.310000.hospitals --resource-pattern-type literal
grant --add --allow-principal User:exchange-310000 --operation Read --topic exchange.310000.results --resource-pattern-type literal
grant --add --allow-principal User:exchange-310000 --operation Read --topic exchange.310000.statements --resource-pattern-type literal
grant --add --allow-principal User:exchange-310000 --operation Read --topic filing --resource-pattern-type literal
grant --add --allow-principal User:exchange-310000 --operation Read --topic his.310000.discharge --resource-pattern-type literal
grant --add --allow-principal User:exchange-310000 --operation Read --group exchange-310000 --resource-pattern-type literal
grant --add --allow-principal User:exchange-310000 --operation Write --topic deadletter --resource-pattern-type literal
grant --add --allow-principal User:exchange-310000 --operation Write --topic his.310000.settlement --resource-pattern-type literal
grant --add --allow-principal User:exchange-310000 --operation Write --topic hub.requests --resource-pattern-type literal
grant --add --allow-principal User:exchange-310000 --operation Write --topic hub.statements --resource-pattern-type literal
grant --add --allow-principal User:exchange-310000 --operation Create --topic deadletter --resource-pattern-type literal
grant --add --allow-principal User:exchange-310000 --operation Create --topic exchange.310000.hospitals --resource-pattern-type literal
grant --add --allow-principal User:exchange-310000 --operation Create --topic exchange.310000.results --resource-pattern-type literal
grant --add --allow-principal User:exchange-310000 --operation Create --topic exchange.310000.statements --resource-pattern-type literal
grant --add --allow-principal User:exchange-310000 --operation Create --topic filing --resource-pattern-type literal
grant --add --allow-principal User:exchange-310000 --operation Create --topic his.310000.discharge --resource-pattern-type literal
grant --add --allow-principal User:exchange-310000 --operation Create --topic his.310000.settlement --resource-pattern-type literal
grant --add --allow-principal User:exchange-310000 --operation Create --topic hub.requests --resource-pattern-type literal
grant --add --allow-principal User:exchange-310000 --operation Create --topic hub.statements --resource-pattern-type literal
grant --add --allow-principal User:exchange-310000 --operation Describe --topic deadletter --resource-pattern-type literal
grant --add --allow-principal User:exchange-310000 --operation Describe --topic exchange.310000.hospitals --resource-pattern-type literal
grant --add --allow-principal User:exchange-310000 --operation Describe --topic exchange.310000.results --resource-pattern-type literal
grant --add --allow-principal User:exchange-310000 --operation Describe --topic exchange.310000.statements --resource-pattern-type literal
grant --add --allow-principal User:exchange-310000 --operation Describe --topic filing --resource-pattern-type literal
grant --add --allow-principal User:exchange-310000 --operation Describe --topic his.310000.discharge --resource-pattern-type literal
grant --add --allow-principal User:exchange-310000 --operation Describe --topic his.310000.settlement --resource-pattern-type literal
grant --add --allow-principal User:exchange-310000 --operation Describe --topic hub.requests --resource-pattern-type literal
grant --add --allow-principal User:exchange-310000 --operation Describe --topic hub.statements --resource-pattern-type literal
grant --add --allow-principal User:his-310000 --operation Read --topic his.310000.settlement --resource-pattern-type literal
grant --add --allow-principal User:his-310000 --operation Read --group his-310000. --resource-pattern-type prefixed
grant --add --allow-principal User:his-310000 --operation Write --topic his.310000.discharge --resource-pattern-type literal
grant --add --allow-principal User:his-310000 --operation Describe --topic his.310000.discharge --resource-pattern-type literal
grant --add --allow-principal User:his-310000 --operation Describe --topic his.310000.settlement --resource-pattern-type literal
grant --add --allow-principal User:exchange-330000 --operation Read --topic exchange.330000.hospitals --resource-pattern-type literal
grant --add --allow-principal User:exchange-330000 --operation Read --topic exchange.330000.results --resource-pattern-type literal
grant --add --allow-principal User:exchange-330000 --operation Read --topic exchange.330000.statements --resource-pattern-type literal
grant --add --allow-principal User:exchange-330000 --operation Read --topic filing --resource-pattern-type literal
grant --add --allow-principal User:exchange-330000 --operation Read --topic his.330000.discharge --resource-pattern-type literal
grant --add --allow-principal User:exchange-330000 --operation Read --group exchange-330000 --resource-pattern-type literal
grant --add --allow-principal User:exchange-330000 --operation Write --topic deadletter --resource-pattern-type literal
grant --add --allow-principal User:exchange-330000 --operation Write --topic his.330000.settlement --resource-pattern-type literal
grant --add --allow-principal User:exchange-330000 --operation Write --topic hub.requests --resource-pattern-type literal
grant --add --allow-principal User:exchange-330000 --operation Write --topic hub.statements --resource-pattern-type literal
grant --add --allow-principal User:exchange-330000 --operation Create --topic deadletter --resource-pattern-type literal
grant --add --allow-principal User:exchange-330000 --operation Create --topic exchange.330000.hospitals --resource-pattern-type literal
grant --add --allow-principal User:exchange-330000 --operation Create --topic exchange.330000.results --resource-pattern-type literal
grant --add --allow-principal User:exchange-330000 --operation Create --topic exchange.330000.statements --resource-pattern-type literal
grant --add --allow-principal User:exchange-330000 --operation Create --topic filing --resource-pattern-type literal
grant --add --allow-principal User:exchange-330000 --operation Create --topic his.330000.discharge --resource-pattern-type literal
grant --add --allow-principal User:exchange-330000 --operation Create --topic his.330000.settlement --resource-pattern-type literal
grant --add --allow-principal User:exchange-330000 --operation Create --topic hub.requests --resource-pattern-type literal
grant --add --allow-principal User:exchange-330000 --operation Create --topic hub.statements --resource-pattern-type literal
grant --add --allow-principal User:exchange-330000 --operation Describe --topic deadletter --resource-pattern-type literal
grant --add --allow-principal User:exchange-330000 --operation Describe --topic exchange.330000.hospitals --resource-pattern-type literal
grant --add --allow-principal User:exchange-330000 --operation Describe --topic exchange.330000.results --resource-pattern-type literal
grant --add --allow-principal User:exchange-330000 --operation Describe --topic exchange.330000.statements --resource-pattern-type literal
grant --add --allow-principal User:exchange-330000 --operation Describe --topic filing --resource-pattern-type literal
grant --add --allow-principal User:exchange-330000 --operation Describe --topic his.330000.discharge --resource-pattern-type literal
grant --add --allow-principal User:exchange-330000 --operation Describe --topic his.330000.settlement --resource-pattern-type literal
grant --add --allow-principal User:exchange-330000 --operation Describe --topic hub.requests --resource-pattern-type literal
grant --add --allow-principal User:exchange-330000 --operation Describe --topic hub.statements --resource-pattern-type literal
grant --add --allow-principal User:his-330000 --operation Read --topic his.330000.settlement --resource-pattern-type literal
grant --add --allow-principal User:his-330000 --operation Read --group his-330000. --resource-pattern-type prefixed
grant --add --allow-principal User:his-330000 --operation Write --topic his.330000.discharge --resource-pattern-type literal
grant --add --allow-principal User:his-330000 --operation Describe --topic his.330000.discharge --resource-pattern-type literal
grant --add --allow-principal User:his-330000 --operation Describe --topic his.330000.settlement --resource-pattern-type literal
grant --add --allow-principal User:exchange-440000 --operation Read --topic exchange.440000.hospitals --resource-pattern-type literal
grant --add --allow-principal User:exchange-440000 --operation Read --topic exchange.440000.results --resource-pattern-type literal
grant --add --allow-principal User:exchange-440000 --operation Read --topic exchange.440000.statements --resource-pattern-type literal
grant --add --allow-principal User:exchange-440000 --operation Read --topic filing --resource-pattern-type literal
grant --add --allow-principal User:exchange-440000 --operation Read --topic his.440000.discharge --resource-pattern-type literal
grant --add --allow-principal User:exchange-440000 --operation Read --group exchange-440000 --resource-pattern-type literal
grant --add --allow-principal User:exchange-440000 --operation Write --topic deadletter --resource-pattern-type literal
grant --add --allow-principal User:exchange-440000 --operation Write --topic his.440000.settlement --resource-pattern-type literal
grant --add --allow-principal User:exchange-440000 --operation Write --topic hub.requests --resource-pattern-type literal
grant --add --allow-principal User:exchange-440000 --operation Write --topic hub.statements --resource-pattern-type literal
grant --add --allow-principal User:exchange-440000 --operation Create --topic deadletter --resource-pattern-type literal
grant --add --allow-principal User:exchange-440000 --operation Create --topic exchange.440000.hospitals --resource-pattern-type literal
grant --add --allow-principal User:exchange-440000 --operation Create --topic exchange.440000.results --resource-pattern-type literal
grant --add --allow-principal User:exchange-440000 --operation Create --topic exchange.440000.statements --resource-pattern-type literal
grant --add --allow-principal User:exchange-440000 --operation Create --topic filing --resource-pattern-type literal
grant --add --allow-principal User:exchange-440000 --operation Create --topic his.440000.discharge --resource-pattern-type literal
grant --add --allow-principal User:exchange-440000 --operation Create --topic his.440000.settlement --resource-pattern-type literal
grant --add --allow-principal User:exchange-440000 --operation Create --topic hub.requests --resource-pattern-type literal
grant --add --allow-principal User:exchange-440000 --operation Create --topic hub.statements --resource-pattern-type literal
grant --add --allow-principal User:exchange-440000 --operation Describe --topic deadletter --resource-pattern-type literal
grant --add --allow-principal User:exchange-440000 --operation Describe --topic exchange.440000.hospitals --resource-pattern-type literal
grant --add --allow-principal User:exchange-440000 --operation Describe --topic exchange.440000.results --resource-pattern-type literal
grant --add --allow-principal User:exchange-440000 --operation Describe --topic exchange.440000.statements --resource-pattern-type literal
grant --add --allow-principal User:exchange-440000 --operation Describe --topic filing --resource-pattern-type literal
grant --add --allow-principal User:exchange-440000 --operation Describe --topic his.440000.discharge --resource-pattern-type literal
grant --add --allow-principal User:exchange-440000 --operation Describe --topic his.440000.settlement --resource-pattern-type literal
grant --add --allow-principal User:exchange-440000 --operation Describe --topic hub.requests --resource-pattern-type literal
grant --add --allow-principal User:exchange-440000 --operation Describe --topic hub.statements --resource-pattern-type literal
grant --add --allow-principal User:his-440000 --operation Read --topic his.440000.settlement --resource-pattern-type literal
grant --add --allow-principal User:his-440000 --operation Read --group his-440000. --resource-pattern-type prefixed
grant --add --allow-principal User:his-440000 --operation Write --topic his.440000.discharge --resource-pattern-type literal
grant --add --allow-principal User:his-440000 --operation Describe --topic his.440000.discharge --resource-pattern-type literal
grant --add --allow-principal User:his-440000 --operation Describe --topic his.440000.settlement --resource-pattern-type literal
grant --add --allow-principal User:hub --operation Read --topic filing --resource-pattern-type literal
grant --add --allow-principal User:hub --operation Read --topic hub.requests --resource-pattern-type literal
grant --add --allow-principal User:hub --operation Read --topic hub.results --resource-pattern-type literal
grant --add --allow-principal User:hub --operation Read --topic hub.sanctions --resource-pattern-type literal
grant --add --allow-principal User:hub --operation Read --topic hub.statements --resource-pattern-type literal
grant --add --allow-principal User:hub --operation Read --group hub --resource-pattern-type literal
grant --add --allow-principal User:hub --operation Write --topic deadletter --resource-pattern-type literal
grant --add --allow-principal User:hub --operation Write --topic agency. --resource-pattern-type prefixed
grant --add --allow-principal User:hub --operation Write --topic exchange. --resource-pattern-type prefixed
grant --add --allow-principal User:hub --operation Create --topic deadletter --resource-pattern-type literal
grant --add --allow-principal User:hub --operation Create --topic filing --resource-pattern-type literal
grant --add --allow-principal User:hub --operation Create --topic hub.requests --resource-pattern-type literal
grant --add --allow-principal User:hub --operation Create --topic hub.results --resource-pattern-type literal
grant --add --allow-principal User:hub --operation Create --topic hub.sanctions --resource-pattern-type literal
grant --add --allow-principal User:hub --operation Create --topic hub.statements --resource-pattern-type literal
grant --add --allow-principal User:hub --operation Create --topic agency. --resource-pattern-type prefixed
grant --add --allow-principal User:hub --operation Create --topic exchange. --resource-pattern-type prefixed
grant --add --allow-principal User:hub --operation Describe --topic deadletter --resource-pattern-type literal
grant --add --allow-principal User:hub --operation Describe --topic filing --resource-pattern-type literal
grant --add --allow-principal User:hub --operation Describe --topic hub.requests --resource-pattern-type literal
grant --add --allow-principal User:hub --operation Describe --topic hub.results --resource-pattern-type literal
grant --add --allow-principal User:hub --operation Describe --topic hub.sanctions --resource-pattern-type literal
grant --add --allow-principal User:hub --operation Describe --topic hub.statements --resource-pattern-type literal
grant --add --allow-principal User:hub --operation Describe --topic agency. --resource-pattern-type prefixed
grant --add --allow-principal User:hub --operation Describe --topic exchange. --resource-pattern-type prefixed
grant --add --allow-principal User:operator --operation Read --topic deadletter --resource-pattern-type literal
grant --add --allow-principal User:operator --operation Read --group yidi-dlq --resource-pattern-type prefixed
grant --add --allow-principal User:operator --operation Write --topic agency. --resource-pattern-type prefixed
grant --add --allow-principal User:operator --operation Write --topic exchange. --resource-pattern-type prefixed
grant --add --allow-principal User:operator --operation Write --topic filing --resource-pattern-type prefixed
grant --add --allow-principal User:operator --operation Write --topic his. --resource-pattern-type prefixed
grant --add --allow-principal User:operator --operation Write --topic hub. --resource-pattern-type prefixed
grant --add --allow-principal User:operator --operation Describe --topic deadletter --resource-pattern-type literal
grant --add --allow-principal User:operator --operation Describe --topic agency. --resource-pattern-type prefixed
grant --add --allow-principal User:operator --operation Describe --topic exchange. --resource-pattern-type prefixed
grant --add --allow-principal User:operator --operation Describe --topic filing --resource-pattern-type prefixed
grant --add --allow-principal User:operator --operation Describe --topic his. --resource-pattern-type prefixed
grant --add --allow-principal User:operator --operation Describe --topic hub. --resource-pattern-type prefixed
