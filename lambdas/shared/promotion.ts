/**
 * Gate promotion.previous-stage (docs/decisions/054-promote.md), read from the ledger: the previous stage's
 * pointer and the service's release summaries, decided by lambdas/domain/promotion.ts. Taken when the release
 * is prepared (lambdas/prepare-release.ts) and again at the point of action (lambdas/deploy-check.ts).
 */
import { previousStageAtAction } from '../domain/point-of-action';
import { previousStageOf, previousStageVerdict, type PromotionFacts, type PromotionVerdict } from '../domain/promotion';
import type { Deps } from '../ports';

async function facts(deps: Deps, service: string, stage: string, digest: string): Promise<PromotionFacts | undefined> {
  const names = deps.config.services[service]?.stages.map((s) => s.name) ?? [];
  const previousStage = previousStageOf(names, stage);
  if (!previousStage) return undefined;
  const [pointer, releases] = await Promise.all([deps.ledger.getPointer(service, previousStage), deps.ledger.listReleases({ service })]);
  return { service, stage, previousStage, digest, pointer, releases };
}

/** The verdict for `digest` about to start at `stage`; undefined when `stage` is the service's first. */
export async function readPreviousStageVerdict(deps: Deps, service: string, stage: string, digest: string): Promise<PromotionVerdict | undefined> {
  const f = await facts(deps, service, stage, digest);
  return f && previousStageVerdict(f);
}

/** The same gate at the point of action (lambdas/deploy-check.ts), its reason saying so. */
export async function readPreviousStageAtAction(deps: Deps, service: string, stage: string, digest: string): Promise<PromotionVerdict | undefined> {
  const f = await facts(deps, service, stage, digest);
  return f && previousStageAtAction(f);
}
