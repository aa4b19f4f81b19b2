import { startDynalite } from '../../local/dynalite';
import { ledgerContract } from './ledger-contract';

ledgerContract('dynalite', () => startDynalite());
