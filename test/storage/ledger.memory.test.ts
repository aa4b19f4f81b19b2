import { startMemoryDynamo } from '../../local/memory-dynamo';
import { ledgerContract } from './ledger-contract';

ledgerContract('in-memory DynamoDB', () => startMemoryDynamo());
