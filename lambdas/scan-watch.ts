/**
 * ECR Image Scan (basic scanning) and Inspector2 Scan (enhanced scanning) → wake every release waiting for
 * that image's scan (decision 040). The release's scan wait is a `.waitForTaskToken` task whose token is
 * stored against (repository, digest) (lambdas/image-gates.ts `awaitScan`); this handler claims each such
 * token exactly once (takeToken deletes it: a duplicated event finds none) and sends it success. It
 * decides nothing: the workflow runs the image gates once more, whose DescribeImageScanFindings decides
 * PASS or FAIL as before (a FAILED scan FAILs there, with the scan's reason).
 *
 * Events of other images, and events that are not scan events, do nothing. The task token is never logged.
 */
import { parseGantryEvent } from './domain/events';
import type { Deps } from './ports';
import { lambdaHandler, logger } from './shared/middleware';

export async function run(event: unknown, deps: Deps): Promise<{ woken: number }> {
  const parsed = parseGantryEvent(event);
  if (parsed.kind !== 'ecr-scan' && parsed.kind !== 'inspector-scan') return { woken: 0 };
  let woken = 0;
  for (const open of await deps.ledger.tokensForImageScan(parsed.repositoryName, parsed.digest)) {
    const token = await deps.ledger.takeToken('SCAN', open.releaseId, open.stage);
    if (!token) continue; // claimed meanwhile (a duplicate event, the registration's own check)
    try {
      await deps.tasks.sendSuccess(token.token, { woken: parsed.kind, scanStatus: parsed.scanStatus, eventId: parsed.id });
    } catch (err) {
      // Give the claim back so EventBridge's retry of this event can finish the job.
      await deps.ledger.putToken(token);
      throw err;
    }
    woken++;
    logger.info('scan wait woken', { releaseId: token.releaseId, stage: token.stage, repository: parsed.repositoryName, digest: parsed.digest, scanStatus: parsed.scanStatus });
  }
  return { woken };
}

export const handler = lambdaHandler(run);
