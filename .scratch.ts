import { readFileSync } from 'node:fs';
import { parseAlarmStateChange } from './lambdas/domain/events';
try { parseAlarmStateChange(JSON.parse(readFileSync('/work/shared/aws-samples/cloudwatch-alarm-lambda-action-single-metric-powertools.json','utf8'))) } catch (e) { console.log((e as any).problems) }
