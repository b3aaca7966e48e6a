#!/bin/sh
# garak runs for the open threats of Customer Support Assistant, written by `mlthreat testplan`.
# Set the generator garak should test for each element (garak --list_generators):
#   GARAK_TYPE_ORCHESTRATOR and GARAK_NAME_ORCHESTRATOR for orchestrator
#   GARAK_TYPE_SUPPORT_LLM and GARAK_NAME_SUPPORT_LLM for support-llm
#   GARAK_TYPE_WIDGET and GARAK_NAME_WIDGET for widget
# Each report is then imported as evidence (docs/evidence.md).
set -eu
MODEL=${MLTHREAT_MODEL:-'../system.yaml'}
RUNS=${GARAK_RUNS:-$HOME/.local/share/garak/garak_runs}

# orchestrator: T-f43ae5f4 T-3cb1f7e2
garak --model_type "${GARAK_TYPE_ORCHESTRATOR:?set GARAK_TYPE_ORCHESTRATOR to the garak generator type for orchestrator}" \
  --model_name "${GARAK_NAME_ORCHESTRATOR:?set GARAK_NAME_ORCHESTRATOR to the model name for orchestrator}" \
  --probes agent_breaker,badchars,dra,encoding,goodside.Tag,sata,smuggling,visual_jailbreak \
  --report_prefix 'llm-rag-assistant.orchestrator'
mlthreat evidence import "$RUNS/llm-rag-assistant.orchestrator.report.jsonl" --model "$MODEL" --tool garak --target 'orchestrator'
mlthreat evidence import "$RUNS/llm-rag-assistant.orchestrator.report.jsonl" --model "$MODEL" --tool garak --target 'llm-guard'

# support-llm: T-471676b9 T-8092f7ef T-f3b8396b T-0500f913 T-33a37e96
garak --model_type "${GARAK_TYPE_SUPPORT_LLM:?set GARAK_TYPE_SUPPORT_LLM to the garak generator type for support-llm}" \
  --model_name "${GARAK_NAME_SUPPORT_LLM:?set GARAK_NAME_SUPPORT_LLM to the model name for support-llm}" \
  --probes adaptive_attacks,apikey,atkgen,audio,av_spam_scanning,badchars,continuation,dan,divergence,doctor,donotanswer,dra,encoding,fitd,goat,goodside.Tag,goodside.ThreatenJSON,grandma,latentinjection,leakreplay,lmrc,malwaregen,phrasing,promptinject,propile,realtoxicityprompts,sata,smuggling,suffix,sysprompt_extraction,tap,topic,visual_jailbreak \
  --report_prefix 'llm-rag-assistant.support-llm'
mlthreat evidence import "$RUNS/llm-rag-assistant.support-llm.report.jsonl" --model "$MODEL" --tool garak --target 'support-llm'

# widget: T-0df5b48e
garak --model_type "${GARAK_TYPE_WIDGET:?set GARAK_TYPE_WIDGET to the garak generator type for widget}" \
  --model_name "${GARAK_NAME_WIDGET:?set GARAK_NAME_WIDGET to the model name for widget}" \
  --probes goodside.WhoIsRiley,misleading,snowball \
  --report_prefix 'llm-rag-assistant.widget'
mlthreat evidence import "$RUNS/llm-rag-assistant.widget.report.jsonl" --model "$MODEL" --tool garak --target 'widget'
