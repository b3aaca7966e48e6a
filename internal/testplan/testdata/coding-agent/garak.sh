#!/bin/sh
# garak runs for the open threats of Agentic Coding Assistant, written by `mlthreat testplan`.
# Set the generator garak should test for each element (garak --list_generators):
#   GARAK_TYPE_AGENT and GARAK_NAME_AGENT for agent
#   GARAK_TYPE_FRONTIER_LLM and GARAK_NAME_FRONTIER_LLM for frontier-llm
# Each report is then imported as evidence (docs/evidence.md).
set -eu
MODEL=${MLTHREAT_MODEL:-'../system.yaml'}
RUNS=${GARAK_RUNS:-$HOME/.local/share/garak/garak_runs}

# agent: T-2685f415 T-2ee11167
garak --model_type "${GARAK_TYPE_AGENT:?set GARAK_TYPE_AGENT to the garak generator type for agent}" \
  --model_name "${GARAK_NAME_AGENT:?set GARAK_NAME_AGENT to the model name for agent}" \
  --probes agent_breaker,exploitation \
  --report_prefix 'coding-agent.agent'
mlthreat evidence import "$RUNS/coding-agent.agent.report.jsonl" --model "$MODEL" --tool garak --target 'agent'
mlthreat evidence import "$RUNS/coding-agent.agent.report.jsonl" --model "$MODEL" --tool garak --target 'shell'

# frontier-llm: T-abaab2ab T-c364875e T-41a1728d T-844bc055 T-3e8d11d4 T-8687d920 T-16ee2e21
garak --model_type "${GARAK_TYPE_FRONTIER_LLM:?set GARAK_TYPE_FRONTIER_LLM to the garak generator type for frontier-llm}" \
  --model_name "${GARAK_NAME_FRONTIER_LLM:?set GARAK_NAME_FRONTIER_LLM to the model name for frontier-llm}" \
  --probes adaptive_attacks,atkgen,audio,av_spam_scanning,badchars,continuation,dan,divergence.RepeatedToken,doctor,donotanswer,dra,encoding,exploitation,fitd,goat,goodside.Tag,goodside.ThreatenJSON,grandma,latentinjection,lmrc,malwaregen,packagehallucination,phrasing,promptinject,realtoxicityprompts,sata,smuggling,suffix,sysprompt_extraction,tap,topic,visual_jailbreak \
  --report_prefix 'coding-agent.frontier-llm'
mlthreat evidence import "$RUNS/coding-agent.frontier-llm.report.jsonl" --model "$MODEL" --tool garak --target 'frontier-llm'
