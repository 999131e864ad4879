import { Link } from 'react-router';
import { Empty } from '../components/states';

export function NotFoundPage() {
  return (
    <Empty title="There is no such page in the console.">
      <Link to="/">See your apps</Link>
    </Empty>
  );
}
