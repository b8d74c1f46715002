# The developer guide's "Agent runs API" section (../shared/spec/developer-guide.txt),
# run as written. The guide's commands are copied character for character;
# the only additions are the "### ..." markers, capturing the create output
# so that RUN_ID can be taken from it with jq (the guide says to copy
# run_id by hand), and nothing else.
# Needs BASE_URL, UMAMI_API_KEY, ORG_ID and AGENT_VERSION_ID in the environment.

echo "### create"
create_output=$(
curl -sS "$BASE_URL/api/v1/agent-runs" \
-X POST \
-H "Authorization: Bearer $UMAMI_API_KEY" \
-H "Content-Type: application/json" \
--data "{\"org_id\":\"$ORG_ID\",\"agent_version_id\":\"$AGENT_VERSION_ID\",\"input\":\"Draft a concise incident summary for leadership.\"}"
)
echo "$create_output"

echo "### export"
export RUN_ID="$(echo "$create_output" | jq -r .run_id)"
echo "RUN_ID=$RUN_ID"

echo "### get"
curl -sS "$BASE_URL/api/v1/agent-runs/$RUN_ID" \
-H "Authorization: Bearer $UMAMI_API_KEY"
echo

echo "### poll"
while true; do
res=$(curl -sS "$BASE_URL/api/v1/agent-runs/$RUN_ID" -H "Authorization: Bearer $UMAMI_API_KEY");
status=$(echo "$res" | jq -r ".status");
echo "status=$status";
if [ "$status" = "succeeded" ] || [ "$status" = "failed" ]; then
echo "$res" | jq;
break;
fi;
sleep 2;
done
