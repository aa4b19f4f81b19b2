/** The Terraform driver's `deploy` block (docs/config.md). Pure: zod only. */
import * as z from 'zod';
import { positiveMinutes } from '../../lambdas/domain/config-fields';

export const terraformDeploy = z.strictObject({
  driver: z.literal('terraform'),
  source: z.string().regex(/^s3:\/\/[a-z0-9.-]{3,63}\/[A-Za-z0-9._/-]+$/, 'expected s3://bucket/key'),
  /** The root module inside the source archive: relative, and never leading out of it (no `..` segment). */
  workdir: z
    .string()
    .regex(/^[A-Za-z0-9._/-]{1,128}$/, 'expected a relative directory')
    .refine((w) => !w.startsWith('/'), { message: 'expected a relative directory inside the source archive, not an absolute path' })
    .refine((w) => w.startsWith('/') || !w.split('/').includes('..'), { message: 'expected a relative directory inside the source archive (no ".." segment)' }),
  imageVariable: z.string().regex(/^[A-Za-z_][A-Za-z0-9_-]{0,63}$/, 'expected a Terraform variable name'),
  timeoutMinutes: positiveMinutes(120).default(20),
  allowDestroy: z.boolean().default(false),
});
export type TerraformDeploy = z.output<typeof terraformDeploy>;
