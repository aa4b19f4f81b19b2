/**
 * image.immutable-tag: with `requireImmutableTags`, the release's tag must be one nobody can move.
 * ECR's settings: IMMUTABLE (every tag), MUTABLE (none), IMMUTABLE_WITH_EXCLUSION (every tag but
 * those matching an exclusion filter), MUTABLE_WITH_EXCLUSION (only tags matching a filter).
 */
import type { GateResult } from '../types';

export interface TagMutabilityFilter {
  /** ECR's filter type; WILDCARD is the only one today. */
  readonly filterType: string;
  /** The pattern; `*` matches any run of characters. */
  readonly filter: string;
}

export interface RepositoryTagPolicy {
  readonly mutability: string;
  readonly exclusionFilters: readonly TagMutabilityFilter[];
}

/** ECR WILDCARD filter matching: `*` is any run of characters, everything else is literal. */
export function wildcardMatches(filter: string, tag: string): boolean {
  const pattern = filter
    .split('*')
    .map((part) => part.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'))
    .join('.*');
  return new RegExp(`^${pattern}$`).test(tag);
}

function matchingFilter(filters: readonly TagMutabilityFilter[], tag: string): TagMutabilityFilter | undefined {
  return filters.find((f) => f.filterType.toUpperCase() === 'WILDCARD' && wildcardMatches(f.filter, tag));
}

/**
 * Whether the repository setting makes `tag` immutable. A release by digest with no tag is
 * immutable under IMMUTABLE and IMMUTABLE_WITH_EXCLUSION (no tag of it can be excluded).
 */
export function evaluateImmutableTag(repository: string, tag: string | undefined, policy: RepositoryTagPolicy): GateResult {
  const { mutability, exclusionFilters } = policy;
  const evidence = {
    repository,
    tag: tag ?? null,
    imageTagMutability: mutability,
    exclusionFilters: exclusionFilters.map((f) => ({ filterType: f.filterType, filter: f.filter })),
  };
  const gate = 'image.immutable-tag' as const;
  const named = tag ? `tag ${tag}` : 'the release (by digest, no tag)';
  switch (mutability) {
    case 'IMMUTABLE':
      return { gate, result: 'PASS', reason: `repository ${repository} is IMMUTABLE`, evidence };
    case 'IMMUTABLE_WITH_EXCLUSION': {
      const excluded = tag ? matchingFilter(exclusionFilters, tag) : undefined;
      if (excluded) {
        return {
          gate,
          result: 'FAIL',
          reason: `repository ${repository} is IMMUTABLE_WITH_EXCLUSION and ${named} matches the exclusion filter "${excluded.filter}", so it can be moved`,
          evidence,
        };
      }
      return { gate, result: 'PASS', reason: `repository ${repository} is IMMUTABLE_WITH_EXCLUSION and ${named} matches no exclusion filter`, evidence };
    }
    case 'MUTABLE_WITH_EXCLUSION': {
      const pinned = tag ? matchingFilter(exclusionFilters, tag) : undefined;
      if (pinned) {
        return {
          gate,
          result: 'PASS',
          reason: `repository ${repository} is MUTABLE_WITH_EXCLUSION and ${named} matches the exclusion filter "${pinned.filter}", which makes it immutable`,
          evidence,
        };
      }
      return { gate, result: 'FAIL', reason: `repository ${repository} is MUTABLE_WITH_EXCLUSION and ${named} matches no exclusion filter, so it can be moved`, evidence };
    }
    case 'MUTABLE':
      return { gate, result: 'FAIL', reason: `repository ${repository} is MUTABLE: ${named} can be moved to another image (set imageTagMutability IMMUTABLE)`, evidence };
    default:
      return { gate, result: 'FAIL', reason: `repository ${repository} has tag mutability ${JSON.stringify(mutability)}, which Gantry does not know to be immutable`, evidence };
  }
}
